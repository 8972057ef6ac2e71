"""The optional native kernel: without a C++17 compiler the package installs without it."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "softmax_cli._native",
            sources=["softmax_cli/_native.cpp"],
            language="c++",
            extra_compile_args=["-std=c++17"],
            optional=True,
        )
    ]
)
