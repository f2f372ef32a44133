// Reference: Hugging Face transformers, modeling_utils (sharded checkpoints:
// model.safetensors.index.json holds {"metadata": {...}, "weight_map":
// {tensor name: shard file name}}; an unsharded model is model.safetensors).

package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// IndexName and SingleName are the file names transformers saves.
const (
	IndexName  = "model.safetensors.index.json"
	SingleName = "model.safetensors"
)

// Checkpoint is a model's tensors spread over one or more files of a
// directory, looked up by name.
type Checkpoint struct {
	Dir   string
	Files []*File
	Names []string // every tensor, shard by shard in data order

	where map[string][2]int // name → file, tensor index
}

// OpenDir opens the checkpoint in dir: the shards model.safetensors.index.json
// lists, or else model.safetensors, or else the one *.safetensors file there.
func OpenDir(dir string) (*Checkpoint, error) {
	c := &Checkpoint{Dir: dir, where: map[string][2]int{}}
	files, want, err := shardNames(dir)
	if err != nil {
		return nil, err
	}
	for _, name := range files {
		f, err := Open(filepath.Join(dir, name))
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Files = append(c.Files, f)
		fi := len(c.Files) - 1
		for ti := range f.Tensors {
			n := f.Tensors[ti].Name
			if prev, dup := c.where[n]; dup {
				c.Close()
				return nil, fmt.Errorf("safetensors: %s: tensor %q is in %s too", dir, n, c.Files[prev[0]].Path())
			}
			c.where[n] = [2]int{fi, ti}
			c.Names = append(c.Names, n)
		}
	}
	var missing []string
	for name, file := range want {
		loc, ok := c.where[name]
		if !ok || filepath.Base(c.Files[loc[0]].Path()) != file {
			missing = append(missing, fmt.Sprintf("%s (in %s)", name, file))
		}
	}
	if len(missing) > 0 {
		c.Close()
		slices.Sort(missing)
		return nil, fmt.Errorf("safetensors: %s: %s lists tensors its shards lack: %s", dir, IndexName, strings.Join(missing, ", "))
	}
	return c, nil
}

// shardNames returns the files to open and, for an index, the shard each
// tensor must be in.
func shardNames(dir string) ([]string, map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, IndexName))
	if errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, SingleName)); err == nil {
			return []string{SingleName}, nil, nil
		}
		all, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
		if len(all) == 1 {
			return []string{filepath.Base(all[0])}, nil, nil
		}
		return nil, nil, fmt.Errorf("safetensors: %s has no %s, no %s and not exactly one *.safetensors file (%d)", dir, SingleName, IndexName, len(all))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil || len(idx.WeightMap) == 0 {
		return nil, nil, fmt.Errorf("safetensors: %s: not an index (want an object with a non-empty \"weight_map\" of tensor → file)", filepath.Join(dir, IndexName))
	}
	var files []string
	for name, file := range idx.WeightMap {
		// Shards live beside the index: a path that leaves the directory
		// is damage (or an attack), not a layout transformers writes.
		if file == "" || file != filepath.Base(file) || file == "." || file == ".." || strings.ContainsAny(file, `/\`) {
			return nil, nil, fmt.Errorf("safetensors: %s: tensor %q names shard %q, which is not a file name in the same directory", filepath.Join(dir, IndexName), name, file)
		}
		if !slices.Contains(files, file) {
			files = append(files, file)
		}
	}
	slices.Sort(files)
	return files, idx.WeightMap, nil
}

// Tensor returns the tensor called name and the file holding it.
func (c *Checkpoint) Tensor(name string) (*TensorInfo, *File, bool) {
	loc, ok := c.where[name]
	if !ok {
		return nil, nil, false
	}
	f := c.Files[loc[0]]
	return &f.Tensors[loc[1]], f, true
}

// Close unmaps every file.
func (c *Checkpoint) Close() error {
	var errs []error
	for _, f := range c.Files {
		errs = append(errs, f.Close())
	}
	c.Files = nil
	return errors.Join(errs...)
}
