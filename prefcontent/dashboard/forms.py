"""Input forms of the dashboard. They only parse; the services decide (and their errors land inline)."""
from __future__ import annotations

from django import forms

from prefcontent.brands.compliance import RULE_KINDS
from prefcontent.brands.settings import SETTINGS, Boolean, Choice, Number, Origins, Texts
from prefcontent.content.models import CHANNELS
from prefcontent.experiments.models import ALLOCATIONS, METRICS
from prefcontent.preferences.models import EXCLUSION_REASONS, PAIR_STATUSES
from prefcontent.tenancy.roles import ROLE_CHOICES, SCOPES


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=120)
    scopes = forms.MultipleChoiceField(choices=[(s, s) for s in SCOPES], widget=forms.CheckboxSelectMultiple)
    expires_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Optional; UTC.",
    )


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class BrandVoiceForm(forms.Form):
    voice = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False, max_length=5000)
    locale = forms.CharField(max_length=16)


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def _setting_field(setting) -> forms.Field:
    """The form field of one brand setting; every field may be left at the product default."""
    check, default, doc = setting.metadata["check"], setting.default, setting.metadata["doc"]
    label = setting.name.replace("_", " ").capitalize()
    if isinstance(check, Boolean):
        return forms.TypedChoiceField(label=label, required=False, help_text=doc, empty_value=None,
                                      coerce=lambda v: v == "true",
                                      choices=[("", f"default ({_on_off(default)})"), ("true", "on"), ("false", "off")])
    if isinstance(check, Choice):
        return forms.TypedChoiceField(label=label, required=False, help_text=doc, empty_value=None,
                                      choices=[("", f"default ({default})"), *[(o, o) for o in check.options]])
    if isinstance(check, Origins):
        return forms.CharField(label=label, required=False, widget=forms.Textarea(attrs={"rows": 3}),
                               help_text=f"{doc} One per line; empty: none.")
    if isinstance(check, Texts):
        return forms.CharField(label=label, required=False, widget=forms.Textarea(attrs={"rows": 3}),
                               help_text=f"{doc} One per line; empty: none.")
    if isinstance(check, Number):
        return forms.FloatField(label=label, required=False, help_text=f"{doc} Empty: the default, {default:g}.",
                                widget=forms.NumberInput(attrs={"step": "any", "placeholder": f"{default:g}"}))
    raise TypeError(f"no form field for the check of {setting.name}")


class BrandSettingsForm(forms.Form):
    """One field per brand setting the dashboard edits (prefcontent.brands.settings); the service validates."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, setting in SETTINGS.items():
            if setting.metadata["form"]:
                self.fields[name] = _setting_field(setting)

    @staticmethod
    def initial_for(stored: dict) -> dict:
        """Form values of the stored (valid) settings; keys not stored show as the default."""
        initial = {}
        for name, value in stored.items():
            if name not in SETTINGS or not SETTINGS[name].metadata["form"]:
                continue
            check = SETTINGS[name].metadata["check"]
            if isinstance(check, Boolean):
                value = "true" if value else "false"
            elif isinstance(check, (Origins, Texts)):
                value = "\n".join(check(value))
            initial[name] = value
        return initial

    def changes(self) -> dict:
        """{setting: value}, None where the field is empty (the brand goes back to the default)."""
        out = {}
        for name, value in self.cleaned_data.items():
            check = SETTINGS[name].metadata["check"]
            if isinstance(check, Origins):
                value = value.split() or None
            elif isinstance(check, Texts):
                value = [line.strip() for line in value.splitlines() if line.strip()] or None
            out[name] = value
        return out


class ComplianceRuleForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, k.replace("_", " ")) for k in RULE_KINDS])
    pattern = forms.CharField(required=False, max_length=500, help_text="Phrase, regular expression or disclaimer.")
    limit = forms.FloatField(required=False, help_text="Percent (max discount) or characters (max length).")
    channel = forms.CharField(required=False, max_length=32, help_text="Empty: every channel.")
    message = forms.CharField(required=False, max_length=300)


class VariantAddForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=10_000)


class ExperimentCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    variants = forms.TypedMultipleChoiceField(coerce=int, widget=forms.CheckboxSelectMultiple,
                                              help_text="Two or more; each becomes an arm.")
    control = forms.TypedChoiceField(coerce=int, help_text="The arm the others are compared with.")
    allocation = forms.ChoiceField(choices=[(a, a.capitalize()) for a in ALLOCATIONS])
    primary_metric = forms.ChoiceField(choices=[(m, m.capitalize()) for m in METRICS])
    min_sample_per_arm = forms.IntegerField(min_value=1, initial=1000)

    def __init__(self, *args, variants=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(v.pk, f"#{v.pk} {v.text[:90]}") for v in variants]
        self.fields["variants"].choices = choices
        self.fields["control"].choices = choices

    def clean(self):
        data = super().clean()
        if "control" in data and "variants" in data and data["control"] not in data["variants"]:
            self.add_error("control", "The control must be one of the chosen variants.")
        return data


class PairFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "any status"), *[(s, s) for s in PAIR_STATUSES]])
    reason = forms.ChoiceField(required=False,
                               choices=[("", "any reason"), *[(r, r.replace("_", " ")) for r in EXCLUSION_REASONS]])
    experiment = forms.IntegerField(required=False, min_value=1)


class SnapshotCreateForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    holdout_fraction = forms.FloatField(min_value=0, max_value=0.9, initial=0.1,
                                        help_text="Share of pairs held out for evaluation (by pair hash).")


class TrainingRunForm(forms.Form):
    """The usual knobs; everything else keeps the operator's TrainConfig defaults."""

    snapshot = forms.TypedChoiceField(coerce=int, help_text="The frozen dataset to train on.")
    parent_adapter = forms.TypedChoiceField(coerce=int, required=False, empty_value=None,
                                            help_text="Continue training this adapter (optional).")
    max_steps = forms.IntegerField(min_value=1, required=False, help_text="Empty: one pass per epoch.")
    epochs = forms.IntegerField(min_value=1, initial=1)
    lr = forms.FloatField(min_value=0, initial=5e-5, label="Learning rate")
    beta = forms.FloatField(min_value=0, initial=0.1, help_text="DPO β: how tightly to stay near the reference.")
    lora_rank = forms.TypedChoiceField(coerce=int, choices=[(r, r) for r in (8, 16, 32, 64)], initial=16)

    def __init__(self, *args, snapshots=(), adapters=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["snapshot"].choices = [(s.pk, f"#{s.pk} {s.name or ''} ({s.counts.get('pairs', 0)} pairs)")
                                           for s in snapshots]
        self.fields["parent_adapter"].choices = [("", "none: start from the base model")] + [
            (a.pk, f"v{a.version} ({a.status})") for a in adapters]

    def hyperparameters(self) -> dict:
        keys = ("max_steps", "epochs", "lr", "beta", "lora_rank")
        return {k: self.cleaned_data[k] for k in keys if self.cleaned_data.get(k) is not None}


class GenerateForm(forms.Form):
    title = forms.CharField(max_length=200, required=False)
    product = forms.CharField(max_length=500, required=False)
    audience = forms.CharField(max_length=500, required=False)
    tone = forms.CharField(max_length=200, required=False)
    constraints = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000, required=False)
    channel = forms.ChoiceField(choices=[(c, c.replace("_", " ")) for c in CHANNELS])
    n = forms.IntegerField(min_value=1, max_value=8, initial=4, label="Candidates")
    temperature = forms.FloatField(min_value=0, max_value=2, initial=0.9)
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, required=False, help_text="Fix it to reproduce.")
    rank_by_preference = forms.BooleanField(
        required=False, help_text="Sample twice as many and keep the ones the active adapter prefers (scores shown).")
    compare_with_base = forms.BooleanField(
        required=False, initial=True, help_text="Also generate with the base model, shown side by side.")


class RetrainPolicyForm(forms.Form):
    enabled = forms.BooleanField(required=False, initial=True)
    cron = forms.CharField(max_length=120, required=False,
                           help_text='UTC, five fields, e.g. "0 3 * * 1" (Mondays 03:00); empty: no schedule.')
    threshold_pairs = forms.IntegerField(min_value=1, required=False,
                                         help_text="Also retrain once this many new usable pairs arrived.")
    min_interval_minutes = forms.IntegerField(min_value=0, initial=60)
    auto_promote = forms.BooleanField(required=False, initial=True,
                                      help_text="Promote a candidate that passes the gate without a person.")
    priority = forms.IntegerField(initial=0, help_text="Higher starts first when training slots are scarce.")
