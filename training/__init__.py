"""Keras models trained and scored on the mnist_derived datasets."""
