"""The Blender side of the ``blender`` render backend: Cycles renders of scan-grid cells.

Runs under the Blender environment's Python (``.venv-blender/bin/python``, ``bpy`` from the
package index), never under the project's: it imports only ``bpy``, ``numpy`` and the standard
library. The project's render step starts it as a subprocess (as the documents call Kit) and
talks to it in JSON lines, one request per line on stdin, one answer per line on stdout:

``{"op": "scene", "usd": path, "prims": {prim_path: {"index": k, "material": m, "label": l,
"color": [r, g, b]}}, "settings": {...}}``
    import the USD (``bpy.ops.wm.usd_import``), give every prim of ``prims`` its principled
    material and its object index ``k + 1``; hide what ``prims`` does not list.
``{"op": "render", "cell": "x0_y0", "rect": [xmin, xmax, ymin, ymax], "width": W, "height": H,
"out_dir": dir}``
    point the orthographic top-down camera at the cell's world rectangle and write
    ``rgb_<cell>.png`` (RGBA, Cycles, AOI ring/coaxial light) and ``index_<cell>.npy`` (int32,
    ``H × W``: the prim index seen at each pixel centre, ``-1`` for nothing), the second from a
    flat-emission pass (one sample at the pixel centre, every object emitting its own index).
``{"op": "quit"}`` or end of input
    exit.

Each answer is ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``. Blender's own log goes
to stderr. Run ``python blender_scan.py < requests.jsonl`` to render a batch by hand.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import time
import traceback

_SUFFIX = re.compile(r"\.\d{3,}$")  # Blender's ".001" for a repeated name (USD names have no dots)

# principled looks: base colour (sRGB 0..1, None = the prim's displayColor), metallic, roughness,
# coat weight, bump strength and scale (1/mm) of the surface grain
LOOKS = {
    "soldermask": dict(base=None, metallic=0.0, roughness=0.45, coat=0.35, coat_roughness=0.15,
                       bump=0.15, grain=6.0),
    "copper": dict(base=(0.86, 0.68, 0.34), metallic=1.0, roughness=0.35, coat=0.0, bump=0.08, grain=14.0),
    "solder": dict(base=(0.80, 0.81, 0.83), metallic=1.0, roughness=0.12, coat=0.0, bump=0.25, grain=9.0),
    "tin": dict(base=(0.82, 0.82, 0.84), metallic=1.0, roughness=0.22, coat=0.0, bump=0.05, grain=12.0),
    "silkscreen": dict(base=None, metallic=0.0, roughness=0.85, coat=0.0, bump=0.2, grain=20.0),
    "ceramic": dict(base=None, metallic=0.0, roughness=0.6, coat=0.0, bump=0.25, grain=18.0),
    "resistor_coat": dict(base=None, metallic=0.0, roughness=0.5, coat=0.2, coat_roughness=0.3,
                          bump=0.1, grain=16.0),
    "plastic": dict(base=None, metallic=0.0, roughness=0.55, coat=0.0, bump=0.3, grain=12.0),  # epoxy
}
# materials a board may name that are looked up as one of the above
ALIASES = {"epoxy": "plastic", "mold": "plastic", "enig": "copper", "trace": "copper", "via": "copper",
           "pad": "copper", "fr4": "soldermask", "mask": "soldermask", "silk": "silkscreen"}
DEFAULT_LOOK = dict(base=None, metallic=0.0, roughness=0.5, coat=0.0, bump=0.1, grain=10.0)

STATE: dict = {}


def look_for(material: str, label: str) -> dict:
    """The principled look of a prim: by its material name, else by an alias of it or its label."""
    for name in (material, label):
        name = (name or "").lower()
        if name in LOOKS:
            return LOOKS[name]
        for key, target in ALIASES.items():
            if key in name:
                return LOOKS[target]
    return DEFAULT_LOOK


def srgb_to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def prim_path(obj) -> str:
    """The USD prim path of an imported object, from its parent chain (Blender renames repeats)."""
    names = []
    while obj is not None:
        names.append(_SUFFIX.sub("", obj.name))
        obj = obj.parent
    return "/" + "/".join(reversed(names))


def principled(bpy, name: str, look: dict, color) -> object:
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = next(n for n in nodes if n.type == "BSDF_PRINCIPLED")
    base = look["base"] if look["base"] is not None else color
    bsdf.inputs["Base Color"].default_value = (*[srgb_to_linear(float(c)) for c in base], 1.0)
    bsdf.inputs["Metallic"].default_value = look["metallic"]
    bsdf.inputs["Roughness"].default_value = look["roughness"]
    if look.get("coat"):
        bsdf.inputs["Coat Weight"].default_value = look["coat"]
        bsdf.inputs["Coat Roughness"].default_value = look.get("coat_roughness", 0.1)
    if look.get("bump"):  # a fine surface grain, in world millimetres
        coords = nodes.new("ShaderNodeNewGeometry")
        noise = nodes.new("ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = look["grain"]
        noise.inputs["Detail"].default_value = 4.0
        bump = nodes.new("ShaderNodeBump")
        bump.inputs["Strength"].default_value = look["bump"]
        bump.inputs["Distance"].default_value = 0.02
        links.new(coords.outputs["Position"], noise.inputs["Vector"])
        links.new(noise.outputs["Fac"], bump.inputs["Height"])
        links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])
    return mat


def index_material(bpy) -> object:
    """Flat emission of the object's index (its pass index): the segmentation pass."""
    mat = bpy.data.materials.new("sdg_object_index")
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    for node in list(nodes):
        nodes.remove(node)
    info = nodes.new("ShaderNodeObjectInfo")
    emission = nodes.new("ShaderNodeEmission")
    emission.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    out = nodes.new("ShaderNodeOutputMaterial")
    links.new(info.outputs["Object Index"], emission.inputs["Strength"])
    links.new(emission.outputs["Emission"], out.inputs["Surface"])
    return mat


def choose_device(bpy, scene, device: str) -> str:
    """``cpu``, ``gpu`` or ``auto`` (the first GPU Cycles finds, else the CPU)."""
    scene.cycles.device = "CPU"
    if device == "cpu":
        return "CPU"
    prefs = bpy.context.preferences.addons["cycles"].preferences
    for kind in ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL"):
        try:
            prefs.compute_device_type = kind
        except TypeError:
            continue
        prefs.refresh_devices()
        gpus = [d for d in prefs.get_devices_for_type(kind) if d.type != "CPU"]
        if gpus:
            for d in prefs.devices:
                d.use = d.type != "CPU"
            scene.cycles.device = "GPU"
            return f"GPU ({kind}: {', '.join(d.name for d in gpus)})"
    if device == "gpu":
        raise RuntimeError("pcba_render.blender.device is 'gpu' but Cycles finds no GPU "
                           "(OptiX, CUDA, HIP, oneAPI, Metal); set device: auto or cpu")
    return "CPU"


def dome_world(bpy, strength: float) -> object:
    """A uniform grey dome lights the board (what shiny metal reflects); the camera sees the
    rasterizer's dark background (40, 40, 44) where there is no board."""
    world = bpy.data.worlds.new("sdg_world")
    world.use_nodes = True
    nodes, links = world.node_tree.nodes, world.node_tree.links
    dome = nodes["Background"]
    dome.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    dome.inputs["Strength"].default_value = strength
    backdrop = nodes.new("ShaderNodeBackground")
    backdrop.inputs["Color"].default_value = (0.021, 0.021, 0.025, 1.0)
    path = nodes.new("ShaderNodeLightPath")
    mix = nodes.new("ShaderNodeMixShader")
    links.new(path.outputs["Is Camera Ray"], mix.inputs["Fac"])
    links.new(dome.outputs["Background"], mix.inputs[1])
    links.new(backdrop.outputs["Background"], mix.inputs[2])
    output = nodes["World Output"]
    links.new(mix.outputs["Shader"], output.inputs["Surface"])
    return world


def add_lights(bpy, scene, settings: dict) -> None:
    """AOI lighting: a ring of directional lights around the optical axis, and/or coaxial light."""
    kind = str(settings.get("light", "ring"))
    strength = float(settings.get("light_strength", 3.0))
    kinds = set(kind.split("+"))
    unknown = kinds - {"ring", "coaxial"}
    if unknown:
        raise ValueError(f"pcba_render.blender.light is {kind!r}; use ring, coaxial or ring+coaxial")
    if "ring" in kinds:
        count = int(settings.get("ring_count", 12))
        elevation = math.radians(float(settings.get("ring_elevation_deg", 35.0)))
        for k in range(count):
            azimuth = 2 * math.pi * k / count
            data = bpy.data.lights.new(f"ring_{k}", "SUN")
            data.energy = strength / count
            data.angle = math.radians(15.0)
            obj = bpy.data.objects.new(f"ring_{k}", data)
            # a sun shines along its local -Z: tilted about Y it comes from the elevation, about Z
            # from the azimuth (direction (-cos e cos a, -cos e sin a, -sin e), toward the axis)
            obj.rotation_euler = (0.0, math.pi / 2 - elevation, azimuth)
            scene.collection.objects.link(obj)
    if "coaxial" in kinds:
        data = bpy.data.lights.new("coaxial", "SUN")
        data.energy = strength * 0.08  # a flat glossy surface mirrors it straight into the lens
        data.angle = math.radians(10.0)
        obj = bpy.data.objects.new("coaxial", data)
        scene.collection.objects.link(obj)  # identity rotation: straight down, along the camera


def load_scene(request: dict) -> dict:
    import bpy

    started = time.time()
    settings = request.get("settings") or {}
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    result = bpy.ops.wm.usd_import(filepath=request["usd"], import_shapes=True, merge_parent_xform=False,
                                   apply_unit_conversion_scale=False, import_materials=False,
                                   import_lights=False, import_cameras=False, create_collection=False,
                                   import_guide=False, import_proxy=False)
    if "FINISHED" not in result:
        raise RuntimeError(f"Blender could not import {request['usd']}: {result}")
    prims = request["prims"]
    materials: dict = {}
    seen = set()
    for obj in list(bpy.data.objects):
        if obj.type != "MESH":
            continue
        path = prim_path(obj)
        info = prims.get(path)
        if info is None:  # a prim the rasterizer does not draw either (guide, invisible, unsupported)
            obj.hide_render = True
            continue
        seen.add(path)
        obj.pass_index = int(info["index"]) + 1
        key = (info.get("material") or "", info.get("label") or "", tuple(info.get("color") or (0.5, 0.5, 0.5)))
        if key not in materials:
            materials[key] = principled(bpy, f"sdg_{key[0] or 'default'}_{len(materials)}",
                                        look_for(key[0], key[1]), key[2])
        obj.data.materials.clear()
        obj.data.materials.append(materials[key])
    missing = sorted(set(prims) - seen)
    if missing:
        raise RuntimeError(f"{len(missing)} prims were not found in Blender's import of {request['usd']} "
                           f"(e.g. {missing[:3]})")

    scene.render.engine = "CYCLES"
    device = choose_device(bpy, scene, str(settings.get("device", "auto")))
    scene.cycles.samples = int(settings.get("samples", 32))
    scene.cycles.use_adaptive_sampling = False
    scene.cycles.use_denoising = bool(settings.get("denoise", True))
    scene.cycles.seed = int(settings.get("seed", 0)) % (2 ** 31)
    scene.cycles.max_bounces = int(settings.get("max_bounces", 6))
    threads = int(settings.get("threads") or 0)
    if threads > 0:
        scene.render.threads_mode = "FIXED"
        scene.render.threads = threads
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
    scene.render.dither_intensity = 0.0
    scene.render.film_transparent = False
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.view_settings.exposure = float(settings.get("exposure", 0.0))

    world = dome_world(bpy, float(settings.get("dome_strength", 0.5)))
    dark = bpy.data.worlds.new("sdg_black")
    dark.use_nodes = True
    dark.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.0
    add_lights(bpy, scene, settings)

    camera_data = bpy.data.cameras.new("sdg_camera")
    camera_data.type = "ORTHO"
    camera_data.sensor_fit = "AUTO"
    camera = bpy.data.objects.new("sdg_camera", camera_data)
    scene.collection.objects.link(camera)
    scene.camera = camera
    top = max((max((obj.matrix_world @ v.co).z for v in obj.data.vertices) for obj in bpy.data.objects
               if obj.type == "MESH" and not obj.hide_render and len(obj.data.vertices)), default=0.0)
    STATE.update(scene=scene, camera=camera, world=world, dark=dark, index_material=index_material(bpy),
                 settings=settings, top=top)
    return {"ok": True, "objects": len(seen), "device": device, "seconds": round(time.time() - started, 3),
            "blender": bpy.app.version_string}


def _read_pixels(bpy, path: str, width: int, height: int):
    import numpy as np

    image = bpy.data.images.load(path, check_existing=False)
    try:
        pixels = np.empty(width * height * 4, np.float32)
        image.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(image)
    return pixels.reshape(height, width, 4)[::-1]  # Blender's rows run bottom-up


def _render_pass(scene, samples: int, denoise: bool, pixel_filter: str, filter_width: float, max_bounces: int,
                 output: tuple[str, str, str]) -> None:
    """Cycles sampling and the output file (format, colour mode, bit depth) of one render pass."""
    cycles, image = scene.cycles, scene.render.image_settings
    cycles.samples, cycles.use_denoising, cycles.max_bounces = samples, denoise, max_bounces
    cycles.pixel_filter_type, cycles.filter_width = pixel_filter, filter_width
    image.file_format, image.color_mode, image.color_depth = output  # the format first: it sets the others' choices


def render_cell(request: dict) -> dict:
    import bpy
    import numpy as np

    if "scene" not in STATE:
        raise RuntimeError("render before scene: send an 'op': 'scene' request first")
    started = time.time()
    scene, camera, settings = STATE["scene"], STATE["camera"], STATE["settings"]
    xmin, xmax, ymin, ymax = (float(v) for v in request["rect"])
    width, height = int(request["width"]), int(request["height"])
    cell, out_dir = str(request["cell"]), str(request["out_dir"])
    os.makedirs(out_dir, exist_ok=True)
    scene.render.resolution_x, scene.render.resolution_y = width, height
    # the camera looks down -Z with image up = world +y: columns grow with +x, rows with -y
    camera.location = ((xmin + xmax) / 2, (ymin + ymax) / 2, STATE["top"] + 10.0)
    camera.rotation_euler = (0.0, 0.0, 0.0)
    camera.data.ortho_scale = max(xmax - xmin, ymax - ymin)
    camera.data.clip_start = 0.01
    camera.data.clip_end = STATE["top"] + 1000.0

    # 1. the picture: principled materials under the AOI light, antialiased
    view_layer = bpy.context.view_layer
    view_layer.material_override = None
    scene.world = STATE["world"]
    scene.cycles.seed = int(request.get("seed", settings.get("seed", 0))) % (2 ** 31)
    _render_pass(scene, int(settings.get("samples", 32)), bool(settings.get("denoise", True)), "BLACKMAN_HARRIS", 1.5,
                 int(settings.get("max_bounces", 6)), ("PNG", "RGBA", "8"))
    rgb_path = os.path.join(out_dir, f"rgb_{cell}.png")
    scene.render.filepath = rgb_path
    bpy.ops.render.render(write_still=True)
    rgb_seconds = time.time() - started

    # 2. object indices: one unfiltered sample at each pixel centre, every object emitting its index
    view_layer.material_override = STATE["index_material"]
    scene.world = STATE["dark"]
    _render_pass(scene, 1, False, "BOX", 0.01, 0, ("OPEN_EXR", "RGB", "32"))
    scene.render.image_settings.exr_codec = "ZIP"
    exr_path = os.path.join(out_dir, f"index_{cell}.exr")
    scene.render.filepath = exr_path
    bpy.ops.render.render(write_still=True)
    values = _read_pixels(bpy, exr_path, width, height)[..., 0]
    index = np.rint(values).astype(np.int32) - 1  # pass index k + 1; the black world is 0 → -1
    np.save(os.path.join(out_dir, f"index_{cell}.npy"), index)
    os.remove(exr_path)
    view_layer.material_override = None
    return {"ok": True, "cell": cell, "rgb": rgb_path, "index": os.path.join(out_dir, f"index_{cell}.npy"),
            "seconds": round(time.time() - started, 3), "rgb_seconds": round(rgb_seconds, 3)}


def main() -> int:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # Blender's log (render progress, import notes) goes to stderr, not into the answers
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            op = request.get("op")
            if op == "quit":
                break
            if op == "scene":
                answer = load_scene(request)
            elif op == "render":
                answer = render_cell(request)
            else:
                answer = {"ok": False, "error": f"unknown op {op!r} (scene, render, quit)"}
        except Exception as exc:  # noqa: BLE001 - reported to the caller, which raises
            traceback.print_exc()
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        answers.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
