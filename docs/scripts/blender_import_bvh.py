import builtins
import sys

import bpy

_open = builtins.open
builtins.open = lambda file, mode="r", *a, **k: _open(
    file, mode.replace("U", ""), *a, **k
)  # Debian's Blender 3.4 on Python 3.11: the importer's 'rU'
path = sys.argv[sys.argv.index("--") + 1]
scene = bpy.context.scene
print(
    "BLENDER",
    bpy.app.version_string,
    "default scene:",
    scene.render.fps,
    "fps, frames",
    scene.frame_start,
    "-",
    scene.frame_end,
)
bpy.ops.import_anim.bvh(filepath=path)
print(
    "IMPORT defaults: scene",
    scene.render.fps / scene.render.fps_base,
    "fps, frames",
    scene.frame_start,
    "-",
    scene.frame_end,
    "; action",
    bpy.context.object.animation_data.action.frame_range[:],
)
bpy.ops.object.delete()
bpy.ops.import_anim.bvh(filepath=path, update_scene_fps=True, update_scene_duration=True)
obj = bpy.context.object
print(
    "IMPORT update_scene_fps+duration: scene",
    scene.render.fps / scene.render.fps_base,
    "fps, frames",
    scene.frame_start,
    "-",
    scene.frame_end,
    "; action",
    obj.animation_data.action.frame_range[:],
    "; bones",
    len(obj.data.bones),
)
scene.frame_set(120)
hip = obj.pose.bones["Hip"]
print(
    "frame 120: Hip at", tuple(round(v, 3) for v in (obj.matrix_world @ hip.head)), "(Blender z up)"
)
