from sparsewire.cli import export  # noqa: F401  (registers `sparsewire export`)
