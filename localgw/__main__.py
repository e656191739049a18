"""Entry point for ``python -m localgw``."""

from localgw.cli import main

if __name__ == "__main__":
    main()
