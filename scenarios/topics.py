"""The curriculum's headings, in teaching order: the scenario browser groups scenarios by these."""

TOPICS = [
    "Multilayer perceptron",
    "Convolution",
    "Pooling and why CNNs work",
    "Classic networks",
    "Recurrent networks",
    "Attention and decoding",
]
