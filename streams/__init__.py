"""The Faust app: moves events between Kafka and the recsys engine; no model maths here."""
