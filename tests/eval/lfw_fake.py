"""A tiny LFW-shaped source (not LFW: flat-colour JPEGs, so no face is found) with disjoint
DevTrain and DevTest people, for tests of what runs on a prepared LFW."""
import io
import tarfile

from PIL import Image


def write_lfw(root, train_people: dict, test_people: dict):
    """`root/lfw-deepfunneled.tgz` and the five text files; each dict maps a name to its image
    count (at least 2 for the first two people of each). View 1 and View 2 each get one matched
    and one mismatched pair."""
    root.mkdir(parents=True, exist_ok=True)
    people = {**train_people, **test_people}
    with tarfile.open(root / "lfw-deepfunneled.tgz", "w:gz") as tar:
        for p, (name, count) in enumerate(people.items()):
            for i in range(1, count + 1):
                buf = io.BytesIO()
                Image.new("RGB", (60, 60), (30 * i % 256, 50 * p % 256, 160)).save(buf, "JPEG")
                info = tarfile.TarInfo(f"lfw-deepfunneled/{name}/{name}_{i:04d}.jpg")
                info.size = len(buf.getvalue())
                tar.addfile(info, io.BytesIO(buf.getvalue()))

    def pairs(names):
        a, b = names[:2]
        return [f"{a}\t1\t2", f"{a}\t1\t{b}\t1"]

    train, test = list(train_people), list(test_people)
    (root / "pairsDevTrain.txt").write_text("1\n" + "\n".join(pairs(train)) + "\n")
    (root / "pairsDevTest.txt").write_text("1\n" + "\n".join(pairs(test)) + "\n")
    (root / "pairs.txt").write_text("1 1\n" + "\n".join(pairs(test)) + "\n")
    for fname, group in (("peopleDevTrain.txt", train_people), ("peopleDevTest.txt", test_people)):
        (root / fname).write_text(f"{len(group)}\n" + "".join(f"{n}\t{c}\n" for n, c in group.items()))
    return root
