"""Lighting and weather edits of a whole image, chosen by the words of a prompt (the ``augment`` task).

warm, night, fog, rain, snow, overcast, harsh light, cool: photometric only, so geometry does
not change and an object's mask stays valid.
"""

from __future__ import annotations

import cv2
import numpy as np

from sdg_factory.imaging.backdrop import grade, value_noise

AUGMENT_EFFECTS = ("warm", "night", "fog", "rain", "snow", "overcast", "harsh", "cool")
_EFFECT_WORDS = {
    "warm": ("warm", "golden", "sunset", "sunrise", "evening"),
    "night": ("night", "dark", "dim", "moonlight"),
    "fog": ("fog", "mist", "haze", "smoke"),
    "rain": ("rain", "wet", "drizzle"),
    "snow": ("snow", "winter", "frost"),
    "overcast": ("overcast", "cloudy", "grey", "gray", "soft"),
    "harsh": ("harsh", "spotlight", "flash", "direct sun", "strong"),
    "cool": ("cool", "fluorescent", "blue", "led"),
}


def effects_for_prompt(prompt: str) -> list[str]:
    """The classical effects an augmentation prompt names (in the prompt's order)."""
    words = prompt.lower()
    found = [(min(words.find(w) for w in ws if w in words), e) for e, ws in _EFFECT_WORDS.items()
             if any(w in words for w in ws)]
    return [e for _, e in sorted(found)]


def augment_scene(image: np.ndarray, prompt: str, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """Apply the lighting/weather edits named in ``prompt``; returns ``(rgb, effects applied)``.

    A prompt naming no known effect gets one chosen by ``rng`` (recorded in the result), never a
    silent copy.
    """
    effects = effects_for_prompt(prompt) or [str(rng.choice(AUGMENT_EFFECTS))]
    out = image[..., :3].astype(np.float32)
    h, w = out.shape[:2]
    for effect in effects:
        if effect == "warm":
            out = grade(out, (1.12, 0.98, 0.78), rng.uniform(0.95, 1.1), 1.05)
        elif effect == "cool":
            out = grade(out, (0.9, 0.98, 1.12), rng.uniform(0.95, 1.05), 1.0)
        elif effect == "night":
            out = grade(out, (0.8, 0.88, 1.15), rng.uniform(0.35, 0.55), 0.9)
            out += rng.normal(0, 4.0, out.shape)
        elif effect == "overcast":
            grey = out.mean(axis=2, keepdims=True)
            out = grade(grey + (out - grey) * 0.7, (0.98, 1.0, 1.03), 0.95, 0.8)
        elif effect == "harsh":
            cy, cx = rng.uniform(0.2, 0.6) * h, rng.uniform(0.2, 0.8) * w
            y, x = np.mgrid[0:h, 0:w].astype(np.float32)
            spot = np.exp(-(((x - cx) ** 2 + (y - cy) ** 2) / (2 * (0.35 * max(h, w)) ** 2)))
            out = (out - out.mean()) * 1.25 + out.mean()
            out *= (0.55 + 0.75 * spot)[..., None]
        elif effect == "fog":
            density = rng.uniform(0.3, 0.5)
            veil = np.clip(0.6 + 0.4 * value_noise(h, w, rng, max(h, w) / 4), 0, 1)[..., None]
            ramp = np.linspace(1.0, 0.6, h, dtype=np.float32)[:, None, None]
            a = density * veil * ramp
            out = out * (1 - a) + 215.0 * a
        elif effect == "rain":
            out = grade(out, (0.95, 0.98, 1.03), 0.85, 0.9)
            streaks = np.zeros((h, w), np.float32)
            n = int(h * w / 300)
            ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
            streaks[ys, xs] = 1.0
            length = max(5, h // 15) | 1
            kernel = np.zeros((length, length), np.float32)
            cv2.line(kernel, (length // 2 + length // 6, 0), (length // 2 - length // 6, length - 1), 1.0, 1)
            streaks = cv2.filter2D(streaks, -1, kernel / kernel.sum() * 3)
            out = out * (1 - 0.5 * np.clip(streaks, 0, 1)[..., None]) + 230 * 0.5 * np.clip(streaks, 0, 1)[..., None]
        elif effect == "snow":
            out = grade(out, (0.97, 1.0, 1.05), 1.05, 0.85)
            flakes = np.zeros((h, w), np.float32)
            n = int(h * w / 250)
            for yy, xx, rr in zip(rng.integers(0, h, n), rng.integers(0, w, n), rng.integers(1, 3, n), strict=False):
                cv2.circle(flakes, (int(xx), int(yy)), int(rr), 1.0, -1)
            flakes = cv2.GaussianBlur(flakes, (0, 0), 0.8)[..., None]
            out = out * (1 - 0.8 * flakes) + 250 * 0.8 * flakes
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), effects
