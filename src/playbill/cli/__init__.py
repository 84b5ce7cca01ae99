"""The ``playbill`` command line: read, export and import journals, and write a demo run."""
