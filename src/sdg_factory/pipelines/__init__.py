"""Kedro pipelines, one package per registered pipeline."""
