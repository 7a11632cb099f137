from django import forms
from django.contrib.auth.forms import UserCreationForm

from prices.symbols import SYMBOL_MAX_LENGTH, symbol_normalize

from .models import Watchlist


class WatchlistNameForm(forms.Form):
    name = forms.CharField(
        max_length=Watchlist._meta.get_field("name").max_length,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Tech, Dividends, FX", "autocomplete": "off"}),
    )


class SymbolAddForm(forms.Form):
    # Longer than a symbol on purpose: an over-long entry gets our clear
    # message instead of the browser silently cutting it.
    symbol = forms.CharField(
        max_length=200,
        error_messages={"required": "Enter a ticker symbol.", "max_length": "That is too long for a ticker symbol."},
        widget=forms.TextInput(
            attrs={
                "placeholder": "AAPL, BRK-B, ^GSPC, EURUSD=X",
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "maxlength": SYMBOL_MAX_LENGTH * 2,
            }
        ),
    )

    def clean_symbol(self) -> str:
        return symbol_normalize(self.cleaned_data["symbol"])


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])

    @property
    def offset(self) -> int:
        return -1 if self.cleaned_data["direction"] == "up" else 1


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username",)
