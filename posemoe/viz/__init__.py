"""Pictures of results: 2D skeletons over frames and 3D panels (``draw``), which joints were
unseen (``unseen``), the side-by-side H.264 .mp4 (``video``, written by ``encode``), the offline
.html (``html``), and both by name (``render``)."""
