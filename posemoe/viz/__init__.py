"""Pictures of results: 2D skeletons over frames, 3D panels, side-by-side .mp4, offline .html."""
