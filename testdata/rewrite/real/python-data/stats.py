"""Column statistics of a numeric CSV file."""
import sys

import numpy as np


def main(path: str) -> None:
    data = np.genfromtxt(path, delimiter=",", names=True)
    for name in data.dtype.names:
        column = data[name]
        print(f"{name}: mean={column.mean():.3f} std={column.std():.3f} min={column.min():g} max={column.max():g}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data.csv")
