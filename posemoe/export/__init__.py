"""Result files (npz / json / csv) and weights (safetensors)."""
