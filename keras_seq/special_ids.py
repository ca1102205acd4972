"""The special ids every keras_seq vocabulary uses."""

PAD_ID = 0
START_ID = 1
END_ID = 2
UNK_ID = 3
