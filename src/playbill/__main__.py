"""``python -m playbill``: the same as the ``playbill`` console script."""

from playbill.cli import main

if __name__ == "__main__":
    main()
