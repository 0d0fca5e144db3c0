"""Money: the price table, per-run estimates, and the hard cap.

The cap is checked against what is already spent PLUS what is reserved by calls still in
flight, so parallel calls (four music tracks at once) can never cross it together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import store


@dataclass(frozen=True)
class Price:
    provider: str
    model: str
    asset: str
    unit: str              # what one unit_usd buys
    unit_usd: float
    source: str
    checked: str           # date the price was read

    def per_call(self, **kw: Any) -> float:
        """Price of one call; see the unit for what the keywords mean."""
        if self.unit == "megapixel":
            mp = math.ceil(kw.get("width", 1920) * kw.get("height", 1080) / 1_000_000)
            return round(self.unit_usd * mp, 4)
        if self.unit == "5s clip":
            extra = max(0, int(kw.get("seconds", 5)) - 5)
            return round(self.unit_usd + 0.07 * extra, 4)
        return self.unit_usd


# One place for every model and price. Prices change: keep the source and the date with them.
PRICES: dict[str, Price] = {p.model: p for p in (
    Price("fal", "fal-ai/flux/dev", "image", "megapixel", 0.025,
          "fal.ai model page, $0.025 per megapixel rounded up", "2026-11"),
    Price("fal", "fal-ai/flux/schnell", "image", "megapixel", 0.003,
          "fal.ai model page, about $0.003 per megapixel", "2026-11"),
    Price("fal", "fal-ai/kling-video/v2.5-turbo/pro/image-to-video", "video", "5s clip", 0.35,
          "fal.ai model page, $0.35 for 5 s, +$0.07 per extra second", "2026-11"),
    Price("fal", "fal-ai/minimax-music/v2", "music", "track", 0.035,
          "fal.ai model page, about $0.03-0.035 per track (upper bound used)", "2026-11"),
    Price("elevenlabs", "eleven_text_to_sound_v2", "ambience", "generation", 0.12,
          "secondary sources, about $0.12 per sound-effect generation", "2026-11"),
    Price("local", "procedural-v1", "any", "call", 0.0, "runs on this machine", "2026-11"),
)}

# The models a --provider fal run uses; the providers read these names from here.
FAL_MODELS = {
    "image": "fal-ai/flux/dev",
    "video": "fal-ai/kling-video/v2.5-turbo/pro/image-to-video",
    "music": "fal-ai/minimax-music/v2",
}
ELEVENLABS_SFX_MODEL = "eleven_text_to_sound_v2"


def price_of(model: str) -> Price:
    try:
        return PRICES[model]
    except KeyError:
        raise KeyError(f"no price for model {model!r}; add it to runner/budget.py PRICES") from None


def estimate(params: dict[str, Any], *, elevenlabs: bool) -> dict[str, Any]:
    """What a run with these parameters is expected to cost, per asset, against its cap."""
    by_asset = {asset: 0.0 for asset in store.ASSETS}
    lines = []
    own = store.unpaid_assets(params)  # what the person brought costs nothing
    if params["provider"] == "fal":
        count = {"image": 1, "video": 1, "music": 0 if "music" in own else int(params["tracks"])}
        for asset in ("image", "video", "music"):
            if asset in own:
                continue
            usd = round(price_of(FAL_MODELS[asset]).per_call(width=1920, height=1080, seconds=5) * count[asset], 4)
            by_asset[asset] = usd
            lines.append((asset, FAL_MODELS[asset], count[asset], usd))
    if elevenlabs and params["atmosphere"] != "none" and "ambience" not in own:
        amb = price_of(ELEVENLABS_SFX_MODEL).per_call()
        by_asset["ambience"] = amb
        lines.append(("ambience", ELEVENLABS_SFX_MODEL, 1, amb))
    total = round(sum(by_asset.values()), 4)
    return {
        "provider": params["provider"],
        "by_asset": {k: round(v, 4) for k, v in by_asset.items()},
        "calls": [{"asset": a, "model": m, "count": n, "usd": round(u, 4)} for a, m, n, u in lines],
        "total_usd": total,
        "cap_usd": params["cap"],
        "over_cap": total > params["cap"] + 1e-9,
    }


class BudgetExceeded(Exception):
    """A call would have crossed the cap; nothing was sent."""

    def __init__(self, label: str, model: str, estimate_usd: float, committed_usd: float, cap_usd: float):
        self.label, self.model = label, model
        self.estimate_usd, self.committed_usd, self.cap_usd = estimate_usd, committed_usd, cap_usd
        super().__init__(
            f"{label} ({model}, est. ${estimate_usd:.3f}) would cross the cap: "
            f"${committed_usd:.3f} spent or reserved + ${estimate_usd:.3f} > ${cap_usd:.2f}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {"call": self.label, "model": self.model, "estimate_usd": round(self.estimate_usd, 4),
                "committed_usd": round(self.committed_usd, 4), "cap_usd": self.cap_usd, "message": str(self)}


class Budget:
    """The cap guard for one run. Single-threaded use from the event loop.

    committed = spent + reserved (calls in flight) + unconfirmed (requests sent in this or an
    earlier run whose outcome is unknown or not yet settled: runner/intents.py). A new call is
    allowed only while committed + its estimate stays within the cap.
    """

    def __init__(self, cap_usd: float, spent_usd: float = 0.0, unconfirmed_usd: float = 0.0):
        self.cap_usd = cap_usd
        self.spent_usd = spent_usd
        self.reserved_usd = 0.0
        self.unconfirmed_usd = unconfirmed_usd
        self.halted: BudgetExceeded | None = None

    def reserve(self, label: str, model: str, estimate_usd: float) -> None:
        """Reserve the estimate or raise BudgetExceeded. Once halted, every later call is refused."""
        if self.halted is not None:
            raise self.halted
        committed = self.spent_usd + self.reserved_usd + self.unconfirmed_usd
        # A rounding hair over the cap is still over: compare in tenths of a cent.
        if round((committed + estimate_usd) * 1000) > round(self.cap_usd * 1000):
            self.halted = BudgetExceeded(label, model, estimate_usd, committed, self.cap_usd)
            raise self.halted
        self.reserved_usd += estimate_usd

    def settle(self, estimate_usd: float, actual_usd: float | None) -> float:
        """Release a reservation and book what was really paid (None: the call failed unpaid)."""
        self.reserved_usd = max(0.0, self.reserved_usd - estimate_usd)
        paid = 0.0 if actual_usd is None else actual_usd
        self.spent_usd = round(self.spent_usd + paid, 6)
        return paid

    def unconfirm(self, estimate_usd: float) -> None:
        """A reserved call ended with an unknown outcome: its estimate stays held as possibly spent."""
        self.reserved_usd = max(0.0, self.reserved_usd - estimate_usd)
        self.unconfirmed_usd = round(self.unconfirmed_usd + estimate_usd, 6)

    def adopt(self, estimate_usd: float) -> None:
        """A request sent by an earlier run is being followed again: its hold moves from
        unconfirmed to this run's reservation (reserve() books it again right after)."""
        self.unconfirmed_usd = round(max(0.0, self.unconfirmed_usd - estimate_usd), 6)
