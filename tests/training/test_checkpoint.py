from keras_ssl.methods import build_gan
from keras_ssl.training.checkpoint import checkpoint_variables


def test_each_optimizer_is_saved_once_not_again_through_its_group():
    # `model.optimizer` of an adversarial method is a group listing the G
    # and D optimizers' variables; a checkpoint holds them once, under the
    # names the method gives them.
    gan = build_gan(16, channels=1, architecture="dcgan", width=2, z_dim=4, seed=0)
    gan.compile()
    groups = checkpoint_variables(gan)
    assert sorted(groups) == ["model", "optimizer:d_optimizer", "optimizer:g_optimizer"]
    saved = [id(v) for name, vs in groups.items() if name != "model" for v in vs]
    assert len(saved) == len(set(saved))
    assert set(saved) == {id(v) for v in gan.optimizer.variables}
