package recall

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
)

func shapesOf(dims ...int) shapes.Shape { return shapes.Make(dtypes.Float32, dims...) }
