"""Forms drawn with Bootstrap's classes, so that a template writes ``{{ field }}`` alone."""

from django import forms


class StyledForm(forms.Form):
    def __getitem__(self, name: str) -> forms.BoundField:
        # Styled when drawn: fields added after __init__ and errors found since count too.
        bound = super().__getitem__(name)
        widget = bound.field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        if self.is_bound and name in self.errors:
            css += " is-invalid"
        widget.attrs["class"] = css
        return bound
