"""Face tracking: detection, 478-point mesh, head pose, smoothing and derived signals."""
