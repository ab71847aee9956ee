"""Settings, split by concern; every value can be set from the environment."""

from explore_site.settings.api import *  # noqa: F403
from explore_site.settings.base import *  # noqa: F403
from explore_site.settings.cache import *  # noqa: F403
from explore_site.settings.database import *  # noqa: F403
from explore_site.settings.pipeline import *  # noqa: F403
from explore_site.settings.ranking import *  # noqa: F403
from explore_site.settings.security import *  # noqa: F403
from explore_site.settings.site import *  # noqa: F403
from explore_site.settings.tasks import *  # noqa: F403
