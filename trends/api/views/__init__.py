from trends.api.views.accounts import (
    FollowersView,
    FollowingView,
    FollowView,
    MeView,
    RegisterView,
    TokenView,
    UserDetailView,
)
from trends.api.views.engagement import EngagementBatchView
from trends.api.views.feeds import (
    EventDetailView,
    EventListView,
    EventRelatedView,
    EventReportView,
    EventStoryView,
    EventTweetsView,
    ForYouView,
    TopicFeedView,
    TopicListView,
    TrendingView,
)
from trends.api.views.posts import TweetBulkCreateView, TweetCreateView, TweetDetailView, TweetSearchView

__all__ = [
    "EngagementBatchView",
    "EventDetailView",
    "EventListView",
    "EventReportView",
    "EventRelatedView",
    "EventStoryView",
    "EventTweetsView",
    "FollowView",
    "FollowersView",
    "FollowingView",
    "ForYouView",
    "MeView",
    "RegisterView",
    "TokenView",
    "TopicFeedView",
    "TopicListView",
    "TrendingView",
    "TweetBulkCreateView",
    "TweetCreateView",
    "TweetDetailView",
    "TweetSearchView",
    "UserDetailView",
]
