"""Account forms. Account creation itself goes through users.services.user_create."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from trends.models import Category
from users.models import User

LANGUAGE_CHOICES = (
    ("en", "English"),
    ("es", "Spanish"),
    ("pt", "Portuguese"),
    ("fr", "French"),
    ("de", "German"),
    ("it", "Italian"),
    ("nl", "Dutch"),
    ("ja", "Japanese"),
    ("ar", "Arabic"),
    ("hi", "Hindi"),
    ("id", "Indonesian"),
    ("tr", "Turkish"),
)


class SignupForm(forms.Form):
    handle = forms.CharField(
        label="Handle",
        max_length=30,
        help_text="1-30 letters, digits or underscores. People find you at /@handle.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false", "autofocus": True}),
    )
    display_name = forms.CharField(label="Display name", max_length=80, required=False)
    email = forms.EmailField(label="Email (optional)", required=False)
    password = forms.CharField(
        label="Password",
        strip=False,
        help_text="At least 8 characters; not a common password.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class LoginForm(AuthenticationForm):
    """Handles are case-insensitive; the stored case is what authenticate() needs."""

    def clean_username(self):
        handle = (self.cleaned_data.get("username") or "").strip().lstrip("@")
        stored = User.objects.filter(username__iexact=handle).values_list("username", flat=True).first()
        return stored or handle


class SettingsForm(forms.ModelForm):
    languages = forms.MultipleChoiceField(
        label="Languages you read",
        choices=LANGUAGE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    topics = forms.MultipleChoiceField(
        label="Topics you're interested in",
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = User
        fields = ["display_name", "bio", "location", "languages", "topics", "show_local_trends"]
        labels = {
            "display_name": "Display name",
            "bio": "Bio",
            "location": "Location",
            "show_local_trends": "Show trends near me",
        }
        help_texts = {"location": "A city or country, e.g. Lisbon. Used for trends near you."}
        widgets = {"bio": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Keep the user's order of preference for languages already chosen.
        known = dict(LANGUAGE_CHOICES)
        current = [code for code in (self.instance.languages or []) if code in known]
        self.fields["languages"].choices = [(c, known[c]) for c in current] + [
            (c, label) for c, label in LANGUAGE_CHOICES if c not in current
        ]

    def clean_location(self):
        return (self.cleaned_data.get("location") or "").strip()
