"""Answer composition: question analysis and the extractive composer's building blocks."""
