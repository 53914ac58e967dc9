package plot

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// PNGDPI is the resolution of PNG output: sharp on high-density screens and in notebooks, where a 7-inch
// chart becomes 1050 pixels wide.
const PNGDPI = 150

// PNG renders p as PNG bytes, e.g. for gonbui.DisplayPNG in a notebook. A zero w or h uses the default
// size.
func PNG(p *plot.Plot, w, h vg.Length) (data []byte, err error) {
	if p == nil {
		return nil, fmt.Errorf("plot: PNG: nil plot")
	}
	w, h = sizeOrDefault(w, h)
	defer catch("rendering PNG", &err)
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(PNGDPI))
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("plot: encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// SVG renders p as SVG bytes. A zero w or h uses the default size.
func SVG(p *plot.Plot, w, h vg.Length) (data []byte, err error) {
	if p == nil {
		return nil, fmt.Errorf("plot: SVG: nil plot")
	}
	w, h = sizeOrDefault(w, h)
	defer catch("rendering SVG", &err)
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("plot: encoding SVG: %w", err)
	}
	return buf.Bytes(), nil
}

// Save writes p as pathNoExt.png and pathNoExt.svg, creating the directory. PNG is for quick viewing and
// the README, SVG for papers and zooming. A zero w or h uses the default size. Existing files are replaced
// (charts are always regenerated from results files), each atomically, so a reader never sees half a chart.
func Save(p *plot.Plot, pathNoExt string, w, h vg.Length) (pngPath, svgPath string, err error) {
	pngData, err := PNG(p, w, h)
	if err != nil {
		return "", "", err
	}
	svgData, err := SVG(p, w, h)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(filepath.Dir(pathNoExt), 0o755); err != nil {
		return "", "", fmt.Errorf("plot: %w", err)
	}
	pngPath, svgPath = pathNoExt+".png", pathNoExt+".svg"
	if err := writeAtomic(pngPath, pngData); err != nil {
		return "", "", err
	}
	if err := writeAtomic(svgPath, svgData); err != nil {
		return "", "", err
	}
	return pngPath, svgPath, nil
}

func sizeOrDefault(w, h vg.Length) (vg.Length, vg.Length) {
	if w <= 0 {
		w = DefaultWidth
	}
	if h <= 0 {
		h = DefaultHeight
	}
	return w, h
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("plot: writing %s: %w", path, err)
	}
	return nil
}
