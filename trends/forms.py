"""Forms for the Explore pages. Validation of posts stays in trends.services; these only shape input."""

from django import forms

from trends.services import MAX_TEXT_LENGTH

SEARCH_MODES = (("words", "Words"), ("meaning", "Meaning"))
SEARCH_KINDS = (("all", "Everything"), ("events", "Events"), ("posts", "Posts"))


class ComposeForm(forms.Form):
    text = forms.CharField(
        label="What's happening?",
        max_length=MAX_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": MAX_TEXT_LENGTH, "placeholder": "What's happening?"}),
    )


class SearchForm(forms.Form):
    q = forms.CharField(label="Search", max_length=200, required=False)
    mode = forms.ChoiceField(label="Match", choices=SEARCH_MODES, required=False)
    type = forms.ChoiceField(label="Show", choices=SEARCH_KINDS, required=False)
    page = forms.IntegerField(min_value=1, max_value=50, required=False)

    def cleaned(self) -> dict:
        """Defaults for anything missing or invalid: a bad parameter never turns into an error page."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "q": (data.get("q") or "").strip(),
            "mode": data.get("mode") or "words",
            "type": data.get("type") or "all",
            "page": data.get("page") or 1,
        }
