//! Given names that are the same name in another language or a usual diminutive
//! (fr / nl / de / en, with Italian, Spanish, Arabic and Turkish forms common in
//! Belgium). A shared group is evidence, not proof: Jan and Jean may be two people.
//!
//! Each group lists folded forms (lower case, no accents). A name belongs to at most
//! one group; names that are variants of two groups (Jo, Jos) are put in the more
//! frequent one. Feminine forms have their own groups.

use std::collections::HashMap;
use std::sync::OnceLock;

#[rustfmt::skip]
pub const VARIANT_GROUPS: &[&[&str]] = &[
    // Masculine.
    &["jean", "jan", "johan", "johannes", "johann", "hans", "john", "jo", "joao", "giovanni", "juan", "jens", "hannes", "yannick", "yann", "ivan"],
    &["pierre", "pieter", "peter", "piet", "petrus", "pietro", "pedro", "peer", "pit"],
    &["guillaume", "willem", "william", "wim", "wilhelm", "willy", "bill", "guglielmo", "guillermo", "will", "liam"],
    &["joseph", "jozef", "josef", "jose", "jef", "jos", "giuseppe", "sepp", "beppe", "pepe", "seppe"],
    &["francois", "frans", "franz", "francis", "francesco", "francisco", "frank", "franck", "franky", "franco"],
    &["jacques", "jacob", "jakob", "jaak", "james", "giacomo", "jacobus", "jaap", "koos", "kobe", "jim", "jimmy", "jago"],
    &["henri", "hendrik", "henk", "heinrich", "henry", "enrico", "rik", "heinz", "harry", "henrik"],
    &["michel", "michael", "michiel", "michele", "mikael", "chiel", "mike", "mickael", "mikail", "michal"],
    &["louis", "lodewijk", "ludwig", "lewis", "luigi", "lowie", "louie", "ludovic", "ludo", "lode"],
    &["charles", "karel", "karl", "carlo", "carlos", "charlie", "carl", "charly"],
    &["nicolas", "nicolaas", "niklaus", "klaas", "nico", "nick", "nicola", "nikolaus", "niels", "colin"],
    &["antoine", "anton", "antoon", "anthony", "antonio", "toon", "tony", "antonius", "toni"],
    &["andre", "andreas", "andries", "andrew", "andrea", "dries", "andy", "andres"],
    &["philippe", "filip", "philip", "philipp", "filippo", "felipe", "flip", "phil"],
    &["paul", "paulus", "pol", "paolo", "pablo", "pauwel"],
    &["marc", "mark", "marco", "marcus", "markus", "marcel"],
    &["thomas", "tom", "tommaso", "tomas", "thom", "tommy"],
    &["martin", "maarten", "martijn", "martino", "tijn"],
    &["georges", "george", "joris", "jorg", "georg", "giorgio", "jorge", "sjors", "jurgen", "jordi"],
    &["stephane", "stefan", "stephan", "steven", "stefaan", "stephen", "stefano", "steve", "esteban", "etienne", "stef", "tienne"],
    &["gerard", "gerhard", "geert", "gerrit", "gerardo", "gert", "gerd"],
    &["laurent", "lorenzo", "lorenz", "laurens", "lawrence", "lars", "lorens", "renzo"],
    &["jerome", "jeroen", "hieronymus", "geronimo", "jeronimo"],
    &["christophe", "christoph", "christopher", "kristof", "christof", "cristoforo", "chris", "kris", "stoffel"],
    &["dominique", "dominik", "dominic", "domenico", "domingo"],
    &["vincent", "vincenzo", "vince", "vincente"],
    &["emmanuel", "manu", "immanuel", "emanuele", "manuel"],
    &["benoit", "benedikt", "benedict", "benedetto", "bennie", "ben", "benedictus"],
    &["bernard", "bernhard", "bernardo", "bernd"],
    &["alexandre", "alexander", "alessandro", "alejandro", "alex", "sander", "xander", "sascha"],
    &["guy", "guido", "veit", "vitus"],
    &["mohamed", "mohammed", "muhammad", "mohammad", "mohamad", "mouhamed", "mehmet", "muhammed", "mohand", "hamed"],
    &["ahmed", "ahmad", "ahmet", "ahmadi"],
    &["mustafa", "moustafa", "mostafa", "mustapha", "moustapha"],
    &["youssef", "yusuf", "youssouf", "yousef", "yousouf", "youcef", "yusef"],
    &["ibrahim", "brahim", "ibrahima", "ebrahim"],
    &["hussein", "huseyin", "houssein", "husein", "hocine", "hussain"],
    &["abdelkader", "abdelkadir", "abdulkadir", "abdelkrim"],
    &["mehdi", "mahdi"],
    &["omar", "oumar", "umar", "omer"],
    &["hassan", "hasan", "hasane"],
    &["said", "saeed", "sait", "saad"],
    // Feminine.
    &["marie", "maria", "mia", "marieke", "mieke", "mary", "mariette", "maryam", "meryem", "myriam", "miriam", "ria", "mariam", "marija"],
    &["catherine", "katrien", "kathleen", "katharina", "catharina", "katja", "kaat", "cathy", "caterina", "katrijn", "katherine", "kate", "katia", "catarina"],
    &["elisabeth", "elizabeth", "lisa", "liesbeth", "liesbet", "els", "elise", "betty", "lies", "elsa", "elisa", "lisette", "elisabetta", "beth"],
    &["isabelle", "isabel", "isabella", "isa", "belle"],
    &["anne", "anna", "anja", "annie", "ann", "annick", "anke", "ana", "annika"],
    &["jeanne", "johanna", "joanna", "jana", "jeannine", "giovanna", "jane", "joan", "hanna", "jannie", "jeannette", "joke"],
    &["marguerite", "margriet", "margaretha", "margaret", "greet", "griet", "margot", "gretchen", "margherita", "margarita", "grete", "maggie", "greta"],
    &["helene", "helena", "leen", "lena", "ellen", "elena", "helen", "hella"],
    &["christine", "christina", "kristien", "kristin", "christa", "tina", "cristina", "kristine", "kristina", "stien"],
    &["sophie", "sofie", "sofia", "sophia", "soof"],
    &["julie", "julia", "giulia", "juliette", "julienne", "juul"],
    &["caroline", "carolina", "karolien", "carol", "carla", "karla"],
    &["francoise", "francisca", "franciska", "francesca", "francine", "fran", "franca"],
    &["josephine", "jozefien", "josefine", "giuseppina", "fien", "josefa", "josee", "jozefa", "josefien"],
    &["jacqueline", "jacoba", "jacomina", "coby", "jackie"],
    &["louise", "louisa", "luisa", "lowiese", "ludovica", "loes", "lou"],
    &["therese", "theresia", "teresa", "theresa", "tessa", "trees", "resi"],
    &["agnes", "agnieszka", "agnese"],
    &["madeleine", "magdalena", "magda", "marleen", "marlene", "madelon", "maddy"],
    &["fatima", "fatma", "fadma", "fatimah", "fatoumata"],
    &["aicha", "aisha", "ayse", "aysha", "aischa"],
    &["khadija", "hatice", "kadija", "khadidja", "hadidja"],
    &["amina", "emine", "aminata", "amine"],
    &["zeynep", "zineb", "zainab", "zaynab", "zeinab"],
];

/// The index of the group a folded given name belongs to, if any.
pub fn variant_group(folded: &str) -> Option<u16> {
    static TABLE: OnceLock<HashMap<&'static str, u16>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut table = HashMap::new();
        for (i, group) in VARIANT_GROUPS.iter().enumerate() {
            for name in *group {
                table.entry(*name).or_insert(i as u16);
            }
        }
        table
    });
    table.get(folded).copied()
}
