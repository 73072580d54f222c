from kernkit_kv import kvtool_path

PLUGIN = {"kernel__plugins": ["kernkit_kv"]}


def kv(kernel, *args, **options):  # noqa: ANN001, ANN201
    return kernel(str(kvtool_path()), *args, **PLUGIN, **options)


def test_keys_are_set_read_listed_and_deleted(kernel):
    commands = ["set", "color", "blue", "set", "shape", "round", "get", "color"]
    commands += ["list", "del", "color", "list"]
    run = kv(kernel, *commands)
    assert run.err == ""
    assert run.out == "blue\ncolor\t4\nshape\t5\nshape\t5\n"
    assert run.status == 0


def test_a_missing_key_is_enoent(kernel):
    run = kv(kernel, "get", "nope")
    assert (run.status, run.out, run.err) == (1, "", "kvtool: get nope: No such file or directory\n")


def test_new_refuses_a_key_that_exists(kernel):
    run = kv(kernel, "new", "a", "1", "new", "a", "2")
    assert (run.status, run.err) == (1, "kvtool: new a: File exists\n")


def test_values_are_bounded_by_max_bytes(kernel):
    run = kv(kernel, "set", "a", "12345", "set", "b", "123", "stat", "set", "c", "1", kv__max_bytes=8)
    assert run.out == "keys 2\nbytes 8\nmax_bytes 8\n"
    assert (run.status, run.err) == (1, "kvtool: set c: No space left on device\n")


def test_clear_empties_the_store_and_frees_its_space(kernel):
    run = kv(
        kernel,
        "set",
        "a",
        "1234",
        "set",
        "b",
        "1234",
        "clear",
        "list",
        "set",
        "c",
        "12345678",
        "stat",
        kv__max_bytes=8,
    )
    assert (run.status, run.err) == (0, "")
    assert run.out == "keys 1\nbytes 8\nmax_bytes 8\n"


def test_the_device_binds_like_any_other(kernel):
    run = kernel(
        "run",
        "echo hi > /kv/greeting",
        "ls -l /kv",
        "cat /kv/greeting",
        "rm /kv/greeting",
        "ls /kv",
        namespace__binds=["bind -c #kv /kv"],
        **PLUGIN,
    )
    assert run.status == 0, run.err
    assert run.out == "-rw-rw-rw-        0 ctl\n-rw-rw-rw-        3 greeting\nhi\nctl\n"
