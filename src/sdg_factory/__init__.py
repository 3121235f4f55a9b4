"""sdg-factory: synthetic image datasets for inspection and perception, as Kedro pipelines."""
__version__ = "0.1.0"
