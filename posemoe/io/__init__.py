"""Things read from disk and devices: safe ``.npz`` data files, frame sources (video files, images,
webcams, streams), 2D keypoint files of other tools, and BVH motion capture."""
