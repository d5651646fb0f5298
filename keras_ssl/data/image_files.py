"""Image folders and zip archives in `<split>/<class>/<image>` layout.

A split folder that holds images directly (no class folders) is unlabeled:
its labels are -1. A source with no split folders at all is a single split,
`"train"`.
"""

import io
import os
import pathlib
import zipfile

from PIL import Image

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
KNOWN_SPLITS = ("train", "test", "val", "validation", "unlabeled", "extra")


def _is_image(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


class ImageFileSource:
    """Lists and reads the images of one split of a folder or zip archive.

    Members are paths relative to the source root, sorted, with one label per
    member (index into `class_names`, or -1 when the split is unlabeled).
    """

    def __init__(self, path, split="train"):
        self.path = str(path)
        self.split = split
        if not os.path.exists(self.path):
            raise FileNotFoundError(
                f"Data source not found: {self.path!r}. Expected a TFDS dataset "
                "name, an image folder or a .zip archive in "
                "<split>/<class>/<image> layout."
            )
        self.is_zip = os.path.isfile(self.path)
        if self.is_zip and not zipfile.is_zipfile(self.path):
            raise ValueError(
                f"source must be a folder or a .zip archive. Received a file "
                f"that is not a zip archive: {self.path!r}"
            )
        names = self._all_image_names()
        if not names:
            raise ValueError(
                f"No images ({', '.join(IMAGE_EXTENSIONS)}) in {self.path!r}."
            )
        self.members, self.labels, self.class_names = self._select_split(names)

    def _all_image_names(self):
        if self.is_zip:
            with zipfile.ZipFile(self.path) as archive:
                names = [n for n in archive.namelist() if _is_image(n)]
        else:
            root = pathlib.Path(self.path)
            names = [
                p.relative_to(root).as_posix()
                for p in root.rglob("*")
                if p.is_file() and _is_image(p.name)
            ]
        return sorted(names)

    def available_splits(self, names):
        tops = {n.split("/")[0] for n in names if "/" in n}
        return sorted(tops & set(KNOWN_SPLITS))

    def _select_split(self, names):
        splits = self.available_splits(names)
        if splits:
            if self.split not in splits:
                raise ValueError(
                    f"split {self.split!r} does not exist in {self.path!r}. "
                    f"Available splits: {', '.join(splits)}"
                )
            prefix = self.split + "/"
            relative = [n[len(prefix) :] for n in names if n.startswith(prefix)]
            members = [prefix + r for r in relative]
        else:
            if self.split != "train":
                raise ValueError(
                    f"split {self.split!r} does not exist in {self.path!r}: it has "
                    "no split folders, so its images form the single split 'train'."
                )
            relative, members = names, names
        depths = {r.count("/") for r in relative}
        if depths == {0}:
            return members, [-1] * len(members), ()
        if 0 in depths:
            raise ValueError(
                f"The {self.split!r} split of {self.path!r} mixes images at its top "
                "level with class folders. Put every image in a class folder, or "
                "none of them."
            )
        classes = [r.split("/")[0] for r in relative]
        class_names = tuple(sorted(set(classes)))
        index = {name: i for i, name in enumerate(class_names)}
        return members, [index[c] for c in classes], class_names

    def read_bytes(self, members):
        """Encoded bytes of `members` (read once, kept in memory for zips)."""
        if self.is_zip:
            with zipfile.ZipFile(self.path) as archive:
                return [archive.read(m) for m in members]
        return [pathlib.Path(self.path, m).read_bytes() for m in members]

    def full_paths(self, members):
        return [os.path.join(self.path, m) for m in members]

    def image_shape(self, member):
        """(height, width, channels) of one image, read from its header."""
        data = self.read_bytes([member])[0]
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                channels = len(image.getbands())
        except OSError as error:
            raise ValueError(
                f"Unreadable image {member!r} in {self.path!r}: {error}"
            ) from error
        return (height, width, 1 if channels == 1 else 3)
