"""Prompts whose correct answers are known in advance, so no answer quality is ever judged."""

GREETING = "Reply with one short sentence greeting the reader."
COUNT_TO_30 = "Count from 1 to 30, separated by single spaces. Output only the numbers."
COUNT_TO_12 = "Count from 1 to 12, separated by single spaces. Output only the numbers."
RANDOM_WORDS = "Write 8 random English words separated by spaces. Output only the words."
# Needs ~240 tokens: long enough to expose a silent default cap, short enough to stay cheap.
COUNT_TO_120 = "Count from 1 to 120, separated by single spaces. Output only the numbers."
# A greedy answer that repeats one word: repetition_penalty has something visible to act on.
REPEAT_WORD = "Write 20 words, each of them the word echo, separated by spaces. Output only the words."
JSON_PROMPT = "Return a JSON object describing a city with keys name and population. Output JSON only."
WEATHER_PROMPT = "What is the weather in Paris? Use the get_weather tool."
PARALLEL_PROMPT = "Use get_weather and get_time for Paris, calling each tool in parallel."
# The cost (see ScenarioSpec.cost) of one request whose answer is a tool call or a JSON document:
# servers decode it under a grammar, up to 64 tokens, several times as long as a short answer.
CONSTRAINED_COST = 4

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current local time in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
CITY_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["name", "population"],
    "additionalProperties": False,
}
# The abandoned-stream probe: a long count whose stream the suite closes after its first chunk,
# and a short one whose latency shows whether the target is still generating the long one.
LONG_COUNT = "Count from 1 to 300, separated by single spaces. Output only the numbers."
SHORT_COUNT = "Count from 1 to 3, separated by single spaces. Output only the numbers."
# The slow-reader probe: a stream long enough (a few hundred KiB) to fill a slow reader's buffers.
VERY_LONG_COUNT = "Count from 1 to 2000, separated by single spaces. Output only the numbers."
