use super::*;

/// Every character GSM-7 can carry, basic table then extension table.
fn whole_alphabet() -> String {
    let basic = BASIC.iter().filter(|&&c| c != '\u{1B}');
    let extension = EXTENSION.iter().map(|(c, _)| c);
    basic.chain(extension).collect()
}

#[test]
fn plain_text_fills_160_then_153_per_segment() {
    let one = analyse(&"a".repeat(160));
    assert_eq!(one.encoding, SmsEncoding::Gsm7);
    assert_eq!((one.units, one.segments, one.remaining), (160, 1, 0));

    let two = analyse(&"a".repeat(161));
    assert_eq!((two.units, two.segments, two.remaining), (161, 2, 145));

    assert_eq!(analyse(&"a".repeat(306)).segments, 2);
    assert_eq!(analyse(&"a".repeat(307)).segments, 3);
    assert!(analyse(&"a".repeat(307)).forcing_ucs2.is_empty());
}

#[test]
fn an_empty_text_is_one_empty_message() {
    let empty = analyse("");
    assert_eq!(
        (empty.encoding, empty.units, empty.segments, empty.remaining),
        (SmsEncoding::Gsm7, 0, 1, 160)
    );
    let sms = encode_segments("", 1).expect("short");
    assert_eq!(sms.segments.len(), 1);
    assert_eq!(sms.segments[0].short_message(), Vec::<u8>::new());
}

#[test]
fn extension_characters_count_two_septets() {
    let euro = analyse("5 €");
    assert_eq!(euro.encoding, SmsEncoding::Gsm7);
    assert_eq!(euro.units, 4);
    for c in ['^', '{', '}', '\\', '[', '~', ']', '|', '€', '\u{0C}'] {
        assert_eq!(analyse(&c.to_string()).units, 2, "{c:?}");
    }
    let over = format!("{}€", "a".repeat(159));
    assert_eq!(analyse(&over).units, 161);
    assert_eq!(analyse(&over).segments, 2);
}

#[test]
fn accents_in_the_basic_table_stay_gsm7() {
    for text in [
        "é",
        "è",
        "à",
        "ù",
        "ì",
        "ò",
        "É",
        "Ç",
        "äöüÄÖÜß",
        "ñÑøØåÅæÆ",
    ] {
        assert!(is_gsm7(text), "{text}");
    }
    for (text, culprit) in [
        ("ê", 'ê'),
        ("â", 'â'),
        ("î", 'î'),
        ("ô", 'ô'),
        ("û", 'û'),
        ("ë", 'ë'),
        ("ï", 'ï'),
        ("À", 'À'),
        ("ç", 'ç'),
        ("œ", 'œ'),
        ("l’eau", '’'),
        ("«", '«'),
        ("\u{A0}", '\u{A0}'),
    ] {
        let analysis = analyse(text);
        assert_eq!(analysis.encoding, SmsEncoding::Ucs2, "{text}");
        assert_eq!(analysis.forcing_ucs2, vec![culprit], "{text}");
    }
}

#[test]
fn ucs2_culprits_are_listed_once_in_order_of_appearance() {
    let analysis = analyse("‘Fenêtre’ et ‘tête’");
    assert_eq!(analysis.forcing_ucs2, vec!['‘', 'ê', '’']);
    assert_eq!(analysis.units, 19);
}

#[test]
fn ucs2_fills_70_then_67_per_segment() {
    let one = analyse(&"ê".repeat(70));
    assert_eq!(
        (one.encoding, one.segments, one.remaining),
        (SmsEncoding::Ucs2, 1, 0)
    );
    let two = analyse(&"ê".repeat(71));
    assert_eq!((two.units, two.segments, two.remaining), (71, 2, 63));
    assert_eq!(analyse(&"ê".repeat(134)).segments, 2);
    assert_eq!(analyse(&"ê".repeat(135)).segments, 3);
}

#[test]
fn characters_outside_the_bmp_count_two_units() {
    let emoji = analyse("Alerte 🚨");
    assert_eq!(emoji.encoding, SmsEncoding::Ucs2);
    assert_eq!(emoji.units, 9);
    assert_eq!(emoji.forcing_ucs2, vec!['🚨']);
    assert_eq!(encode_ucs2("é😀"), [0x00, 0xE9, 0xD8, 0x3D, 0xDE, 0x00]);
}

#[test]
fn gsm7_septets_are_known_values() {
    assert_eq!(encode_gsm7("@£$"), Ok(vec![0x00, 0x01, 0x02]));
    assert_eq!(encode_gsm7("Hi!"), Ok(vec![0x48, 0x69, 0x21]));
    assert_eq!(encode_gsm7("éà\n"), Ok(vec![0x05, 0x7F, 0x0A]));
    assert_eq!(encode_gsm7("ß¤§¿¡"), Ok(vec![0x1E, 0x24, 0x5F, 0x60, 0x40]));
    assert_eq!(encode_gsm7("ΔΩ"), Ok(vec![0x10, 0x15]));
    assert_eq!(encode_gsm7("5€"), Ok(vec![0x35, 0x1B, 0x65]));
    assert_eq!(encode_gsm7("[x]"), Ok(vec![0x1B, 0x3C, 0x78, 0x1B, 0x3E]));
    assert_eq!(encode_gsm7("fenêtre"), Err(NotGsm7('ê')));
    assert_eq!(
        encode_gsm7("\u{1B}"),
        Err(NotGsm7('\u{1B}')),
        "a literal escape control character is not text"
    );
}

#[test]
fn gsm7_round_trips_the_whole_alphabet() {
    let alphabet = whole_alphabet();
    assert_eq!(alphabet.chars().count(), 127 + 10);
    let septets = encode_gsm7(&alphabet).expect("all encodable");
    assert_eq!(septets.len(), 127 + 2 * 10);
    assert!(septets.iter().all(|&s| s <= 0x7F));
    assert_eq!(decode_gsm7(&septets).as_deref(), Ok(alphabet.as_str()));
}

#[test]
fn gsm7_decoding_follows_the_receiver_rules() {
    assert_eq!(decode_gsm7(&[0x1B, 0x41]).as_deref(), Ok("A"));
    assert_eq!(decode_gsm7(&[0x1B, 0x1B]).as_deref(), Ok(" "));
    assert_eq!(
        decode_gsm7(&[0x41, 0x1B]),
        Err(Gsm7DecodeError::DanglingEscape)
    );
    assert_eq!(
        decode_gsm7(&[0x41, 0x80]),
        Err(Gsm7DecodeError::NotASeptet {
            position: 1,
            value: 0x80
        })
    );
    assert_eq!(
        decode_gsm7(&[0x1B, 0xE5]),
        Err(Gsm7DecodeError::NotASeptet {
            position: 1,
            value: 0xE5
        })
    );
}

#[test]
fn ucs2_round_trips_and_refuses_broken_input() {
    let text = "Évacuez ‘maintenant’ 🚨 Ελλάδα";
    assert_eq!(decode_ucs2(&encode_ucs2(text)).as_deref(), Ok(text));
    assert_eq!(decode_ucs2(&[0x00]), Err(Ucs2DecodeError));
    assert_eq!(decode_ucs2(&[0xD8, 0x3D]), Err(Ucs2DecodeError));
}

#[test]
fn a_single_message_has_no_udh() {
    let sms = encode_segments("Restez à l'intérieur.", 7).expect("short");
    assert_eq!(sms.encoding, SmsEncoding::Gsm7);
    assert_eq!(sms.encoding.data_coding(), 0x00);
    assert_eq!(sms.segments.len(), 1);
    assert_eq!(sms.segments[0].udh, None);
    assert_eq!(
        sms.segments[0].short_message(),
        encode_gsm7("Restez à l'intérieur.").expect("GSM-7")
    );
    let ucs2 = encode_segments("Fenêtres", 7).expect("short");
    assert_eq!(ucs2.encoding.data_coding(), 0x08);
    assert_eq!(ucs2.segments[0].short_message(), encode_ucs2("Fenêtres"));
}

#[test]
fn concatenated_parts_carry_an_exact_udh() {
    let text = "x".repeat(400);
    let sms = encode_segments(&text, 0xA7).expect("three parts");
    assert_eq!(sms.segments.len(), 3);
    for (i, segment) in sms.segments.iter().enumerate() {
        let sequence = u8::try_from(i + 1).expect("small");
        assert_eq!(segment.udh, Some([0x05, 0x00, 0x03, 0xA7, 0x03, sequence]));
        let bytes = segment.short_message();
        assert_eq!(&bytes[..6], &[0x05, 0x00, 0x03, 0xA7, 0x03, sequence]);
        assert_eq!(&bytes[6..], segment.payload.as_slice());
    }
    let lengths: Vec<usize> = sms.segments.iter().map(|s| s.payload.len()).collect();
    assert_eq!(lengths, [153, 153, 94]);
    let joined: Vec<u8> = sms
        .segments
        .iter()
        .flat_map(|s| s.payload.clone())
        .collect();
    assert_eq!(decode_gsm7(&joined), Ok(text));
}

#[test]
fn splitting_never_cuts_an_escape_sequence() {
    let text = format!("{}€{}", "a".repeat(152), "b".repeat(10));
    let analysis = analyse(&text);
    assert_eq!((analysis.units, analysis.segments), (164, 2));
    assert_eq!(analysis.remaining, 153 - 12);

    let sms = encode_segments(&text, 1).expect("two parts");
    let first = &sms.segments[0].payload;
    let second = &sms.segments[1].payload;
    assert_eq!(
        first.len(),
        152,
        "the euro sign moves whole to the next part"
    );
    assert_ne!(first.last(), Some(&ESC));
    assert_eq!(&second[..2], &[0x1B, 0x65]);
    assert_eq!(second.len(), 12);
}

#[test]
fn splitting_never_cuts_a_surrogate_pair() {
    let text = format!("{}😀{}", "ê".repeat(66), "ê".repeat(5));
    let analysis = analyse(&text);
    assert_eq!((analysis.units, analysis.segments), (73, 2));
    assert_eq!(analysis.remaining, 67 - 7);

    let sms = encode_segments(&text, 9).expect("two parts");
    assert_eq!(sms.encoding, SmsEncoding::Ucs2);
    let first = &sms.segments[0].payload;
    let second = &sms.segments[1].payload;
    assert_eq!(first.len(), 132);
    assert_eq!(&second[..4], &[0xD8, 0x3D, 0xDE, 0x00]);
    let joined: Vec<u8> = [first.as_slice(), second.as_slice()].concat();
    assert_eq!(decode_ucs2(&joined), Ok(text));
}

#[test]
fn analysis_and_splitting_agree() {
    for n in [0, 1, 152, 153, 159, 160, 161, 305, 306, 307, 459, 460] {
        for text in [
            "a".repeat(n),
            "€".repeat(n / 2),
            "ê".repeat(n / 2),
            format!("{}€", "a".repeat(n)),
            format!("{}😀", "ê".repeat(n / 2)),
        ] {
            let analysis = analyse(&text);
            let sms = encode_segments(&text, 0).expect("short enough");
            assert_eq!(
                analysis.segments,
                sms.segments.len(),
                "{} units",
                analysis.units
            );
            assert_eq!(analysis.encoding, sms.encoding);
        }
    }
}

#[test]
fn concatenation_stops_at_255_parts() {
    assert!(encode_segments(&"a".repeat(255 * 153), 0).is_ok());
    assert_eq!(
        encode_segments(&"a".repeat(255 * 153 + 1), 0),
        Err(TooManySegments { segments: 256 })
    );
}

#[test]
fn cell_broadcast_pages_of_93_septets_up_to_15() {
    assert_eq!(cell_broadcast_pages(""), Ok(1));
    assert_eq!(cell_broadcast_pages(&"a".repeat(93)), Ok(1));
    assert_eq!(cell_broadcast_pages(&"a".repeat(94)), Ok(2));
    assert_eq!(cell_broadcast_pages(&"a".repeat(1395)), Ok(15));
    let too_long = cell_broadcast_pages(&"a".repeat(1396)).expect_err("16 pages");
    assert_eq!(
        too_long,
        CellBroadcastTooLong {
            encoding: SmsEncoding::Gsm7,
            units: 1396,
            pages: 16
        }
    );
    assert_eq!(
        too_long.to_string(),
        "too long for cell broadcast: 1396 GSM-7 characters need 16 pages; \
         the limit is 15 pages of 93 (1395 GSM-7 characters)"
    );
    let euro_at_the_edge = format!("{}€", "a".repeat(92));
    assert_eq!(cell_broadcast_pages(&euro_at_the_edge), Ok(2));
}

#[test]
fn cell_broadcast_pages_of_41_ucs2_units_up_to_15() {
    assert_eq!(cell_broadcast_pages(&"ê".repeat(41)), Ok(1));
    assert_eq!(cell_broadcast_pages(&"ê".repeat(42)), Ok(2));
    assert_eq!(cell_broadcast_pages(&"ê".repeat(615)), Ok(15));
    let too_long = cell_broadcast_pages(&"ê".repeat(616)).expect_err("16 pages");
    assert_eq!(too_long.encoding, SmsEncoding::Ucs2);
    assert!(too_long.to_string().contains("15 pages of 41 (615 UCS-2"));
}
