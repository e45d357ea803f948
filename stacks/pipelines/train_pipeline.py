"""The bundled example pipeline: retrain the ranking model.

Compile it with the Kubeflow Pipelines SDK (``pip install kfp``):

    kfp dsl compile --py stacks/pipelines/train_pipeline.py --output stacks/pipelines/train.yaml
"""

from kfp import dsl


@dsl.container_component
def train(epochs: int, learning_rate: float) -> dsl.ContainerSpec:
    """One training step in a plain Python image (replace it with your team's image)."""
    return dsl.ContainerSpec(
        image="python:3.11-slim",
        command=["python", "-c"],
        args=["import sys; print('training for', sys.argv[1], 'epochs at learning rate', "
              "sys.argv[2])", epochs, learning_rate],
    )


@dsl.pipeline(name="nightly-train", description="Retrain the ranking model")
def nightly_train(epochs: int = 10, learning_rate: float = 0.001) -> None:
    train(epochs=epochs, learning_rate=learning_rate)
