from __future__ import annotations

from django import forms

from platforms.models import Document


class LinesField(forms.Field):
    """A list of strings edited as one entry per line."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value) -> list[str]:
        if not value:
            return []
        if isinstance(value, list):
            return value
        return [line.strip() for line in str(value).splitlines() if line.strip()]


class DocumentForm(forms.ModelForm):
    select = LinesField(required=False, help_text=Document._meta.get_field("select").help_text)
    remove = LinesField(required=False, help_text=Document._meta.get_field("remove").help_text)
    ignore_patterns = LinesField(
        required=False, help_text=Document._meta.get_field("ignore_patterns").help_text
    )

    class Meta:
        model = Document
        fields = [
            "platform",
            "kind",
            "title",
            "url",
            "active",
            "fetcher",
            "check_interval",
            "select",
            "remove",
            "ignore_patterns",
        ]
