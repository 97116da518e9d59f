axes3d = None; Axes3D = None
