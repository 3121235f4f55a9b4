"""Step 7 CV augmentation: our cascade vs albumentations 2.0.8 running the same chain.

Both run the document's chain with the document's default probabilities and ranges on the same
640×480 scene composites: B/W (ToGray), saturation, contrast, brightness (ColorJitter with one
factor each, torchvision definitions), motion blur (MotionBlur, centred line kernel, odd size
21–55) and repeated JPEG compression (10–30 passes of ImageCompression at one quality 10–40 per
image). Each side draws its own random parameters from the same distributions, over enough
images that the mix is comparable. Ours: LUT colour ops, the line kernel as shifted box sums, and
a JPEG loop that stops when the encoded bytes repeat (byte-identical to every pass; checked here
on every image).
"""

from __future__ import annotations

import random
import time

import numpy as np

from sdg_factory.imaging import cv_augment as cva

N_IMAGES = 48


def _images() -> list[np.ndarray]:

    from sdg_factory.imaging.backdrop import render_backdrop
    from sdg_factory.imaging.placement import cutout_on_white, place_in_scene
    from sdg_factory.pipelines.reference_object.samples.make_sample import render_toy_robot

    rgb, mask = render_toy_robot()
    white = cutout_on_white(rgb, mask)
    prompts = ["on a wooden floor, warm light", "on a grey carpet, cool light, next to some books",
               "on a kitchen counter, daylight", "on a rug in a playroom, dim light, among toy blocks"]
    out = []
    for i in range(N_IMAGES):
        rng = np.random.default_rng(i)
        scene, style = render_backdrop(prompts[i % len(prompts)], (640, 480), rng)
        image, _, _ = place_in_scene(white, mask, scene, rng, style.horizon, style.scale)
        out.append(image)
    return out


def _albumentations_chain(config: cva.CvAugmentConfig):
    import albumentations as A

    kmin = config.motion_blur_range[0] | 1
    kmax = config.motion_blur_range[1] if config.motion_blur_range[1] % 2 else config.motion_blur_range[1] - 1
    compose = A.Compose([
        A.ToGray(num_output_channels=3, p=config.bw_probability),
        A.ColorJitter(brightness=(1, 1), contrast=(1, 1), saturation=config.saturation_range, hue=(0, 0),
                      p=config.saturation_probability),
        A.ColorJitter(brightness=(1, 1), contrast=config.contrast_range, saturation=(1, 1), hue=(0, 0),
                      p=config.contrast_probability),
        A.ColorJitter(brightness=config.brightness_range, contrast=(1, 1), saturation=(1, 1), hue=(0, 0),
                      p=config.brightness_probability),
        A.MotionBlur(blur_limit=(kmin, kmax), angle_range=(0, 360), direction_range=(0, 0), allow_shifted=False,
                     p=config.motion_blur_probability),
    ], seed=0)
    qlo, qhi = config.compression_quality_range
    jpeg = {q: A.ImageCompression(quality_range=(q, q), compression_type="jpeg", p=1.0) for q in range(qlo, qhi + 1)}
    py = random.Random(0)

    def run(image: np.ndarray) -> np.ndarray:
        out = compose(image=image)["image"]
        if py.random() < config.compression_noise_probability:
            passes = py.randint(*config.compression_iterations_range)
            quality = py.randint(qlo, qhi)
            for _ in range(passes):
                out = jpeg[quality](image=out)["image"]
        return out

    return run


def run() -> dict:
    config = cva.CvAugmentConfig()
    images = _images()
    peer = _albumentations_chain(config)
    rng = np.random.default_rng(0)
    ops = [cva.sample_ops(config, rng) for _ in images]

    def ours_all():
        for image, chain in zip(images, ops, strict=False):
            cva.apply_ops(image, chain)

    def peer_all():
        for image in images:
            peer(image)

    # exactness of the early-stopping JPEG loop, on every image's own chain
    identical, passes_run, passes_asked = 0, 0, 0
    for image, chain in zip(images, ops, strict=False):
        jpeg = next((op for op in chain if op["op"] == "jpeg"), None)
        before = cva.apply_ops(image, [op for op in chain if op["op"] != "jpeg"])
        if jpeg:
            fast, done = cva.repeated_jpeg(before, jpeg["quality"], jpeg["iterations"])
            identical += np.array_equal(fast, cva.repeated_jpeg_every_pass(before, jpeg["quality"], jpeg["iterations"]))
            passes_run, passes_asked = passes_run + done, passes_asked + jpeg["iterations"]
    with_jpeg = sum(any(op["op"] == "jpeg" for op in chain) for chain in ops)

    ours_all(), peer_all()  # warm-up
    timings = {"ours": [], "peer": []}
    for _ in range(3):  # interleaved repetitions: both see the same machine load
        for key, fn in (("ours", ours_all), ("peer", peer_all)):
            start = time.perf_counter()
            fn()
            timings[key].append(time.perf_counter() - start)
    ours = len(images) / float(np.median(timings["ours"]))
    theirs = len(images) / float(np.median(timings["peer"]))

    # the motion blur alone (the heaviest link after the JPEG loop)
    import cv2

    blur_ours = [cva.motion_blur(images[0], 37, a) for a in (0.0, 30.0, 45.0, 100.0)]
    blur_peer = [cv2.filter2D(images[0], -1, cva.motion_kernel(37, a)) for a in (0.0, 30.0, 45.0, 100.0)]
    max_diff = max(int(np.abs(a.astype(int) - b).max()) for a, b in zip(blur_ours, blur_peer, strict=False))
    return {
        "title": "CV augmentation (reference-object step 7)",
        "what": ("The document's cascade (B/W, saturation, contrast, brightness, motion blur 20–55 px, "
                 "10–30 JPEG passes at quality 10–40) with its default probabilities on 640×480 scene "
                 "composites; ours (`sdg_factory.imaging.cv_augment`) vs albumentations 2.0.8 "
                 "(ToGray, ColorJitter, MotionBlur, ImageCompression per pass) in the same run."),
        "rows": [{"case": f"{len(images)} images 640×480, document defaults", "ours": round(ours, 1),
                  "peer": round(theirs, 1), "unit": "images/s", "ratio": round(ours / theirs, 2), "target": ">= 5"}],
        "notes": [
            f"Repeated JPEG: {passes_run} encode/decode passes run for {passes_asked} asked over {with_jpeg} images; "
            f"the early-stopped result was byte-identical to running every pass on {identical}/{with_jpeg}.",
            f"Motion blur as shifted box sums vs a dense filter2D with the same line kernel: max difference {max_diff} "
            "grey level (rounding).",
            "Each side samples its own parameters from the same distributions (probabilities and ranges).",
        ],
    }
