"""A model artifact: the ONNX bytes and everything needed to trust and use them — the
signature, the training profile, the training metrics, the parity check, the lineage.
Content-addressed: `sha256` is the hash of the ONNX bytes, as the service keys versions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MODEL_FILE = "model.onnx"
CARD_FILE = "artifact.json"


@dataclass
class ModelArtifact:
    name: str
    onnx_bytes: bytes = field(repr=False)
    #: inputs (name, datatype, shape, categories), layout, task, classes and output names
    signature: dict[str, Any]
    profile: dict[str, Any] = field(default_factory=dict, repr=False)
    training_metrics: dict[str, Any] = field(default_factory=dict)
    parity: dict[str, Any] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict, repr=False)
    #: the model card: owner, intended use, training-data source, personal-data features
    card: dict[str, Any] = field(default_factory=dict)
    #: the registry version, once registered with the service
    version: int | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.onnx_bytes).hexdigest()

    @property
    def task(self) -> str:
        return self.signature["task"]

    def metadata(self) -> dict[str, Any]:
        """What the service stores as the version's metadata (the profile goes apart)."""
        return {
            "nbdeploy": {
                "signature": self.signature,
                "training_metrics": self.training_metrics,
                "parity": self.parity,
                "lineage": self.lineage,
                "card": self.card,
            }
        }

    @classmethod
    def from_metadata(
        cls, name: str, version: int, metadata: dict[str, Any], profile: dict[str, Any] | None = None, onnx_bytes: bytes = b""
    ) -> "ModelArtifact":
        meta = metadata.get("nbdeploy", {})
        return cls(
            name=name,
            onnx_bytes=onnx_bytes,
            signature=meta.get("signature", {}),
            profile=profile or {},
            training_metrics=meta.get("training_metrics", {}),
            parity=meta.get("parity", {}),
            lineage=meta.get("lineage", {}),
            card=meta.get("card", {}),
            version=version,
        )

    def save(self, folder: str | Path) -> Path:
        """Writes `model.onnx` and `artifact.json` into the folder."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MODEL_FILE).write_bytes(self.onnx_bytes)
        card = {k: v for k, v in asdict(self).items() if k != "onnx_bytes"}
        (folder / CARD_FILE).write_text(json.dumps(card, indent=1, default=str))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "ModelArtifact":
        folder = Path(folder)
        card = json.loads((folder / CARD_FILE).read_text())
        return cls(onnx_bytes=(folder / MODEL_FILE).read_bytes(), **card)

    def __repr__(self) -> str:
        version = f" v{self.version}" if self.version else ""
        inputs = ", ".join(i["name"] for i in self.signature.get("inputs", [])[:6])
        more = "…" if len(self.signature.get("inputs", [])) > 6 else ""
        return f"ModelArtifact({self.name!r}{version}, {self.task}, inputs: {inputs}{more}, sha256 {self.sha256[:12]})"
