"""A believable, seeded demo world: communities of users, a follow graph, bursty events, chatter, spam.

Everything is generated from one `random.Random(seed)`, so the same seed gives the same world; times
are laid relative to `now` so the demo always looks live.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field

COMMUNITIES = {
    "sports": ("en", ["London", "Lisbon", "Madrid", "New York", "São Paulo"]),
    "technology": ("en", ["San Francisco", "London", "Berlin", "Bangalore"]),
    "entertainment": ("en", ["Los Angeles", "London", "New York", "Seoul"]),
    "politics": ("en", ["Washington", "London", "Brussels", "Lisbon"]),
    "science": ("en", ["Boston", "Geneva", "London", "Tokyo"]),
    "business": ("en", ["New York", "London", "Frankfurt", "Singapore"]),
    "news": ("en", ["London", "New York", "Lisbon", "Madrid", "Mexico City"]),
    "futbol": ("es", ["Madrid", "Barcelona", "Buenos Aires", "Mexico City"]),
    "brasil": ("pt", ["São Paulo", "Rio de Janeiro", "Lisbon"]),
}
COMMUNITY_TOPIC = {"futbol": "sports", "brasil": "news"}

FIRST = "ana bruno carla diego eva felix gabi hugo ines joao kai lena marco nina omar paula rui sara tomas uma victor wen ximena yusuf zoe".split()
LAST = "silva smith garcia costa mueller rossi kim tanaka nguyen okafor dubois santos lopez brown khan".split()


@dataclass
class EventScript:
    key: str
    category: str
    lang: str
    location: str
    hashtags: list[str]
    phrases: list[str]
    fills: dict[str, list[str]]
    volume: int
    peak_hours_ago: float
    width_hours: float
    community: str


EVENTS: list[EventScript] = [
    EventScript("ucl", "sports", "en", "London", ["UCLFinal", "ChampionsLeague"],
        ["What a goal by {player} in the Champions League final!", "{player} scores again, Wembley is shaking #UCLFinal",
         "Champions League final: {team} lead at half time", "Can't believe that save by the keeper in the final",
         "Penalty! VAR check in the Champions League final", "{team} fans are singing all over Wembley tonight",
         "The Champions League final is living up to the hype", "Red card in the final?! {player} is off"],
        {"player": ["Saka", "Vinicius", "Bellingham", "Kane", "Mbappe"], "team": ["Arsenal", "Real Madrid"]}, 420, 0.6, 1.2, "sports"),
    EventScript("nba", "sports", "en", "New York", ["NBAFinals"],
        ["{player} with a monster dunk in Game 7 of the NBA Finals", "Overtime in the NBA Finals Game 7!",
         "{player} just hit a buzzer beater, NBA Finals madness", "Knicks crowd is deafening for Game 7",
         "This NBA Finals Game 7 is an instant classic", "{player} 40 points tonight in the Finals"],
        {"player": ["Brunson", "Tatum", "Jokic", "Edwards"]}, 300, 1.5, 1.5, "sports"),
    EventScript("quake", "news", "en", "Lisbon", ["LisbonEarthquake", "sismo"],
        ["Strong earthquake felt in Lisbon, buildings shaking", "Magnitude {mag} earthquake hits off the coast of Portugal",
         "Everyone ok? That earthquake in Lisbon was scary", "Civil protection says no tsunami risk after Lisbon quake",
         "Aftershock just now in Lisbon, people in the streets", "Earthquake damage reported in Lisbon old town"],
        {"mag": ["5.8", "5.9", "6.0"]}, 380, 0.4, 0.8, "news"),
    EventScript("election", "politics", "en", "Brussels", ["EUVote", "EUElections"],
        ["Exit polls for the EU elections show a tight race", "Turnout in the EU elections is the highest in decades",
         "{party} claims victory in the European Parliament vote", "Counting continues across Europe after the EU vote",
         "EU election night: {party} surge in early results", "Brussels reacts to the EU election results"],
        {"party": ["the Greens", "the centre-right", "the liberals", "the socialists"]}, 340, 2.5, 3.0, "politics"),
    EventScript("phone", "technology", "en", "San Francisco", ["PixelLaunch"],
        ["Google just announced the new Pixel phone with an on-device AI assistant", "The new Pixel camera looks incredible",
         "Pixel launch event: battery life claims of two days", "Hands-on with the new Pixel, the display is gorgeous",
         "Pixel pricing announced at the launch event", "Is the new Pixel worth upgrading to? Thoughts"],
        {}, 260, 1.0, 1.5, "technology"),
    EventScript("outage", "technology", "en", "", ["cloudoutage"],
        ["Major cloud outage taking down half the internet right now", "Is AWS down? Our whole app is offline",
         "Cloud outage: status page finally admits elevated error rates", "Slack, Zoom and banks down due to cloud outage",
         "Engineers everywhere fighting the cloud outage tonight", "Outage update: services slowly recovering"],
        {}, 300, 3.0, 1.0, "technology"),
    EventScript("oscars", "entertainment", "en", "Los Angeles", ["Oscars"],
        ["{film} wins Best Picture at the Oscars!", "That Oscars acceptance speech by {actor} made me cry",
         "The Oscars red carpet looks are wild this year", "{actor} takes home Best Actor at the Oscars",
         "Oscars host opening monologue was hilarious", "Snubbed at the Oscars again, justice for {film}"],
        {"film": ["Dune Part Three", "The Last Light", "Northern Line"], "actor": ["Zendaya", "Paul Mescal", "Cillian Murphy"]},
        360, 5.0, 2.0, "entertainment"),
    EventScript("album", "entertainment", "en", "", ["NewAlbum", "Midnights2"],
        ["Taylor Swift just dropped a surprise album at midnight", "Track {n} of the new Taylor Swift album is a masterpiece",
         "Streaming the new Taylor Swift album on repeat", "The new album broke the Spotify record in one day",
         "Surprise album drop, Swifties are losing it"],
        {"n": ["3", "5", "7", "11"]}, 280, 8.0, 3.0, "entertainment"),
    EventScript("rates", "business", "en", "New York", ["Fed", "rates"],
        ["The Fed cuts interest rates by a quarter point", "Stocks rally after the Fed rate cut announcement",
         "Powell says further rate cuts depend on inflation data", "Mortgage rates expected to fall after Fed decision",
         "Markets react to the Fed: Dow up {pts} points"],
        {"pts": ["300", "450", "520"]}, 240, 1.8, 1.2, "business"),
    EventScript("merger", "business", "en", "London", ["BigMerger"],
        ["Two of Europe's largest banks announce a merger", "Bank merger creates Europe's biggest lender",
         "Regulators will scrutinise the bank merger, analysts say", "Bank shares jump on merger news",
         "Thousands of jobs at risk after bank merger"],
        {}, 200, 6.0, 2.0, "business"),
    EventScript("rocket", "science", "en", "", ["Starship", "SpaceX"],
        ["Starship launch successful, booster caught by the tower again", "Watching the Starship launch live, incredible",
         "SpaceX Starship reaches orbit on its latest test flight", "The booster catch never gets old #Starship",
         "Starship heat shield held up on reentry"],
        {}, 260, 2.2, 1.0, "science"),
    EventScript("fusion", "science", "en", "Geneva", ["fusion"],
        ["Scientists report record net energy gain in a fusion experiment", "Fusion breakthrough: what it means for clean energy",
         "The fusion result is peer reviewed, huge if it scales", "Physicists cautious about the fusion energy claims"],
        {}, 160, 10.0, 3.0, "science"),
    EventScript("clasico", "sports", "es", "Madrid", ["ElClasico"],
        ["Golazo de {player} en el Clásico!", "El Real Madrid gana el Clásico en el Bernabéu",
         "Qué partido el Clásico de esta noche", "Penalti para el Barcelona en el Clásico",
         "{player} marca en el Clásico y el estadio explota"],
        {"player": ["Vinícius", "Lewandowski", "Bellingham", "Yamal"]}, 300, 0.9, 1.0, "futbol"),
    EventScript("enchentes", "news", "pt", "São Paulo", ["chuvas", "SaoPaulo"],
        ["Chuva forte causa enchentes em São Paulo", "Alagamentos fecham avenidas em São Paulo nesta tarde",
         "Defesa Civil alerta para mais chuva em São Paulo", "Trânsito parado por causa das enchentes em São Paulo",
         "Moradores ilhados pelas enchentes na zona leste de São Paulo"],
        {}, 240, 1.3, 1.5, "brasil"),
    EventScript("strike", "news", "en", "London", ["TubeStrike"],
        ["Tube strike shuts most of the London Underground today", "Tube strike: buses packed, roads gridlocked in London",
         "Is the Tube strike going ahead tomorrow as well?", "Walking to work because of the Tube strike",
         "Unions and TfL to meet again after the Tube strike"],
        {}, 220, 4.0, 2.0, "news"),
    EventScript("summit", "politics", "en", "Washington", ["ClimateSummit"],
        ["World leaders agree a new climate deal at the summit", "Climate summit ends with a pledge to triple renewables",
         "Activists say the climate summit deal is not enough", "The climate summit agreement explained in 5 points"],
        {}, 180, 7.0, 3.0, "politics"),
]

# Background chatter is built from fragments, so it is as varied as real small talk and forms no event.
CHATTER_OPENERS = ["", "Honestly", "Ok so", "Note to self:", "Hot take:", "Small win:", "Lol", "Update:"]
CHATTER_SUBJECTS = [
    "my cat", "the neighbour's dog", "this coffee", "my sourdough", "the bus", "my inbox", "the weather",
    "my sister", "our team standup", "the new podcast", "my running shoes", "this book", "the balcony plants",
    "grandma's soup", "the office printer", "my playlist", "the gym", "our landlord", "my bike", "the laundry",
]
CHATTER_PREDICATES = [
    "is being dramatic again", "made my whole morning", "needs a nap", "is somehow broken again", "smells amazing",
    "deserves an award", "is 20 minutes late", "won't stop growing", "ruined my plans", "is underrated",
    "took forever today", "is a whole mood", "surprised me", "keeps me sane", "is why I'm tired",
]
CHATTER_ENDINGS = ["", "", "🙃", "☕", "😂", "again.", "honestly.", "send help", "10/10", "#mondays", "#weekendvibes", "ugh"]

SPAM = [
    "Claim your FREE crypto airdrop now!!! limited spots {link}", "FREE crypto airdrop, claim now limited spots {link}",
    "Limited spots: claim FREE crypto airdrop now {link}",
]


@dataclass
class DemoUser:
    handle: str
    display_name: str
    community: str
    lang: str
    location: str
    topics: list[str]
    created_days_ago: float
    is_spammer: bool = False
    follows: list[int] = field(default_factory=list)


@dataclass
class DemoPost:
    author: int  # index into users
    text: str
    created_at: dt.datetime
    lang: str
    location: str
    event_key: str | None  # None: chatter; "spam": the spam burst


@dataclass
class DemoWorld:
    users: list[DemoUser]
    posts: list[DemoPost]


def build_world(*, seed: int, now: dt.datetime, users: int = 1500, scale: float = 1.0) -> DemoWorld:
    rng = random.Random(seed)
    communities = list(COMMUNITIES)
    people: list[DemoUser] = []
    used: set[str] = set()
    for index in range(users):
        community = communities[index % len(communities)]
        lang, places = COMMUNITIES[community]
        handle = f"{rng.choice(FIRST)}_{rng.choice(LAST)}{index}"
        used.add(handle)
        topic = COMMUNITY_TOPIC.get(community, community)
        extra = rng.sample(["sports", "technology", "entertainment", "politics", "science", "business", "news"], 1)
        people.append(
            DemoUser(
                handle=handle,
                display_name=handle.split("_")[0].title() + " " + handle.split("_")[1].rstrip("0123456789").title(),
                community=community,
                lang=lang,
                location=rng.choice(places),
                topics=sorted({topic, *extra}),
                created_days_ago=rng.uniform(30, 3000),
            )
        )
    by_community: dict[str, list[int]] = {}
    for index, person in enumerate(people):
        by_community.setdefault(person.community, []).append(index)
    # Follow graph: mostly within the community, preferring a few popular accounts (heavy tail).
    for index, person in enumerate(people):
        own = by_community[person.community]
        count = min(len(own) - 1, int(rng.paretovariate(1.5) * 8))
        weights = [1.0 / (1 + (j % 50)) for j in range(len(own))]
        chosen = set(rng.choices(own, weights=weights, k=count))
        chosen.update(rng.sample(range(len(people)), 2))
        chosen.discard(index)
        person.follows = sorted(chosen)
    spammers_start = len(people)
    for n in range(40):
        people.append(
            DemoUser(handle=f"promo_deals{n}", display_name="Deals", community="spam", lang="en", location="",
                     topics=[], created_days_ago=rng.uniform(0.1, 2), is_spammer=True)
        )

    posts: list[DemoPost] = []
    for script in EVENTS:
        members = by_community[script.community]
        outsiders = list(range(spammers_start))
        volume = int(script.volume * scale)
        for _ in range(volume):
            # Bursty: times drawn from a peaked curve (rise then decay) around the event's peak.
            offset = rng.gauss(0.0, script.width_hours / 2.0)
            if offset > 0:
                offset *= 1.6  # long tail: decays slower than it rose
            hours_ago = max(0.02, script.peak_hours_ago - offset)
            created_at = now - dt.timedelta(hours=hours_ago)
            author = rng.choice(members) if rng.random() < 0.8 else rng.choice(outsiders)
            text = rng.choice(script.phrases)
            for slot, options in script.fills.items():
                text = text.replace("{" + slot + "}", rng.choice(options))
            if rng.random() < 0.6:
                text += " " + " ".join(f"#{tag}" for tag in rng.sample(script.hashtags, rng.randint(1, len(script.hashtags))))
            if rng.random() < 0.15:
                text = rng.choice(["Wow. ", "Breaking: ", "Honestly ", "OMG ", "Live: "]) + text
            posts.append(DemoPost(author, text, created_at, script.lang, script.location, script.key))
    for _ in range(int(900 * scale)):
        author = rng.randrange(spammers_start)
        created_at = now - dt.timedelta(hours=rng.uniform(0.02, 24))
        text = " ".join(
            part
            for part in (rng.choice(CHATTER_OPENERS), rng.choice(CHATTER_SUBJECTS), rng.choice(CHATTER_PREDICATES),
                         rng.choice(CHATTER_ENDINGS))
            if part
        )
        posts.append(DemoPost(author, text[0].upper() + text[1:], created_at, people[author].lang, "", None))
    # A coordinated spam burst: near-duplicates from brand-new accounts within twenty minutes.
    for _ in range(int(160 * scale)):
        author = spammers_start + rng.randrange(40)
        text = rng.choice(SPAM).replace("{link}", f"https://cheap-airdrop.example/{rng.randrange(10**6)}")
        created_at = now - dt.timedelta(minutes=rng.uniform(1, 20))
        posts.append(DemoPost(author, text, created_at, "en", "", "spam"))
    posts.sort(key=lambda p: p.created_at)
    return DemoWorld(users=people, posts=posts)


def engagement_plan(*, seed: int, world: DemoWorld, event_categories: dict[int, str], limit_users: int = 400) -> list[tuple[int, int, str]]:
    """(user index, event id, kind) rows: users click events in their topics and skip the rest."""
    rng = random.Random(seed + 1)
    rows: list[tuple[int, int, str]] = []
    event_ids = list(event_categories)
    for index, person in enumerate(world.users[:limit_users]):
        if person.is_spammer or not event_ids:
            continue
        shown = rng.sample(event_ids, min(8, len(event_ids)))
        for position, event_id in enumerate(shown):
            rows.append((index, event_id, "impression"))
            liked = event_categories[event_id] in person.topics
            p_click = (0.45 if liked else 0.05) / math.sqrt(1 + position)
            if rng.random() < p_click:
                rows.append((index, event_id, "click"))
            elif not liked and rng.random() < 0.05:
                rows.append((index, event_id, "dismiss"))
    return rows
