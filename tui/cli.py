"""Command line entry point (placeholder until the dashboard lands)."""
import sys


def main(argv=None) -> int:
    print("usage: mnist-tui [--help]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
