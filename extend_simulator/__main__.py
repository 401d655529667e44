"""``python -m extend_simulator --api-key KEY [...]``: run the simulator without Django."""

from .cli import main

main()
