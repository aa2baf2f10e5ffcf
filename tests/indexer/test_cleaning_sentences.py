"""Sentence-level boilerplate removal on written fixtures (always run; the shared-data checks are in
test_cleaning.py): a paragraph loses only its boilerplate sentences, never a sentence of the story."""

from __future__ import annotations

import pytest

from indexer.cleaning import clean_paragraph, clean_text, is_boilerplate, normalise
from indexer.sentences import split_sentences
from tests.indexer.helpers import FIXTURES

CLEANING = FIXTURES / "cleaning"

# Sentences of a story that mention a trigger word (photo, newsletter, sign up, subscribers, privacy policy,
# trademarks, Reuters...) and must be kept wherever they stand.
STORY_SENTENCES = [
    "To sign up, go to 84 Lumber’s Hiring Page and complete the form.",
    "Netflix said it added 2.4 million subscribers today, beating forecasts.",
    "Users who subscribe to the premium tier will get an email each morning.",
    "The company updated its privacy policy last year after regulators fined it.",
    "Copyright infringement lawsuits against AI firms have risen sharply.",
    "Comedian Kathy Griffin tweeted a photo of herself with Marshall.",
    "Frank wrote in a newsletter.",
    "AFP reported it.",
    "The 24/7 AFP feed stopped on Tuesday.",
    "Christian Petersen/Getty Images Brady arrives at a federal court to appeal his suspension for \"Deflategate.\"",
    "Video: A previous version of this video misstated when Lovato was nominated for a Grammy.",
    "The trademarks of the shipping line were registered in 1998, the court heard.",
]

BOILERPLATE_SENTENCES = [
    "For more odd and unexpected news, sign up to the Tall Tales newsletter.",
    "For more stories from the stranger side of life, sign up to The Week's Tall Tales newsletter.",
    "Sign up for CNN’s Wonder Theory science newsletter.",
    "Kevin Frayer/Getty Images",
    "Photograph: Darren Staples/AFP/Getty Images",
    "Charley Gallay via Getty Images",
    "(Getty Images)",
    "Andre Pichette/EPA-EFE/Shutterst/Shutterstock",
    "Photo credit © Reuters",
    "©2023 Thomson Reuters, all rights reserved.",
    "We will use the details you have shared to manage your registration.",
    "Would you like to receive The WeekDay newsletter ?",
    "Thank you for supporting our journalism.",
    "Advertisement",
    "Source link -87",
]


def test_fixture_article_loses_only_its_boilerplate_sentences() -> None:
    raw = (CLEANING / "article-with-boilerplate.txt").read_text(encoding="utf-8")
    expected = (CLEANING / "article-with-boilerplate.expected.txt").read_text(encoding="utf-8").strip()
    assert clean_text(raw) == expected


def test_every_kept_sentence_is_verbatim_from_the_original() -> None:
    raw = normalise((CLEANING / "article-with-boilerplate.txt").read_text(encoding="utf-8"))
    cleaned = clean_text(raw)
    for span in split_sentences(cleaned):
        assert cleaned[span.start : span.end] in raw


@pytest.mark.parametrize("sentence", STORY_SENTENCES)
def test_story_sentences_are_kept_alone_and_next_to_boilerplate(sentence: str) -> None:
    assert not is_boilerplate(sentence)
    assert clean_text(sentence) == sentence
    # sharing a paragraph with a sign-up (before or after it) does not take the sentence with it
    signup = "Sign up for our free weekly newsletter."
    assert clean_paragraph(f"{sentence} {signup}") == sentence
    assert clean_paragraph(f"{signup} {sentence}") == sentence


def test_caption_fused_with_a_long_credit_is_kept_whole() -> None:
    # no full stop between the caption and its credit: one sentence, kept (it names who is in the photo)
    caption = "Wyoming Rep. Liz Cheney Oliver Contreras/Pool/Getty Images"
    assert not is_boilerplate(caption) and clean_text(caption) == caption


@pytest.mark.parametrize("sentence", BOILERPLATE_SENTENCES)
def test_boilerplate_sentences_are_cut(sentence: str) -> None:
    assert is_boilerplate(sentence)
    story = "The port reopened on Monday, the harbour master said."
    assert clean_paragraph(f"{story} {sentence}") == story


def test_sign_up_pattern_matches_only_short_sentences() -> None:
    short = "Sign up for our newsletter to get the latest news of the day, every day, in your inbox."
    assert is_boilerplate(short)
    long = short[:-1] + ", " + ", ".join(["and a report on the harbour's cranes and ships"] * 5) + "."
    assert len(long) > 250 and not is_boilerplate(long)


def test_caption_fact_before_a_credit_is_kept() -> None:
    caption = "Workers erect metal barriers outside a community under lockdown in Beijing on November 24."
    assert clean_text(f"{caption} Kevin Frayer/Getty Images") == caption


def test_legal_small_print_goes_only_after_a_rights_notice() -> None:
    notice = ("©2023 Thomson Reuters, all rights reserved. Reuters content is the intellectual property of "
              "Thomson Reuters or its third party content providers. “Reuters” and the Reuters Logo are "
              "trademarks of Thomson Reuters and its affiliated companies.")
    assert clean_text(notice) == ""
    alone = "Reuters content is the intellectual property of Thomson Reuters, the court ruled."
    assert clean_text(alone) == alone


def test_paragraph_with_nothing_but_boilerplate_and_a_list_number_goes_whole() -> None:
    text = "First paragraph of the story.\n\n1. How relevant is this ad to you?\n\nLast paragraph of the story."
    assert clean_text(text) == "First paragraph of the story.\n\nLast paragraph of the story."


def test_text_without_boilerplate_is_only_normalised() -> None:
    text = "Title\r\n\r\n\r\nFirst  paragraph, two  spaces kept.   \nSecond line.\u200b"
    assert clean_text(text) == normalise(text) == "Title\n\nFirst  paragraph, two  spaces kept.\nSecond line."
