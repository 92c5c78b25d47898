"""The item side: the state every worker holds for every item (:mod:`recsys.items.state`) and its parts."""
