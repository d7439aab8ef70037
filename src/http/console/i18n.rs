//! The admin center's languages, English and Dutch (the seed's two): which one a request gets,
//! and every Dutch text of the pages in one table, keyed by the English text.
//!
//! The English text is the key and the English page, so the labels automation relies on stay
//! exactly as they are. A text missing from the table shows in English. Details of SCIM errors
//! coming from the service stay English.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use crate::http::console::session::cookie;

/// The cookie that remembers the language chosen with the page header's switch.
pub const LANG_COOKIE: &str = "scimd_lang";

/// A page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Nl,
}

impl Lang {
    /// The language's tag, for `<html lang>`, the cookie and the switch.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nl => "nl",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "en" => Some(Lang::En),
            "nl" => Some(Lang::Nl),
            _ => None,
        }
    }

    /// The other language, which the header's switch offers, and its name in itself.
    pub fn other(self) -> (Lang, &'static str) {
        match self {
            Lang::En => (Lang::Nl, "Nederlands"),
            Lang::Nl => (Lang::En, "English"),
        }
    }

    /// The language of a request: the switch's cookie, else the first of English and Dutch in
    /// `Accept-Language` by preference, else English.
    pub fn of(headers: &HeaderMap) -> Lang {
        if let Some(lang) = cookie(headers, LANG_COOKIE).as_deref().and_then(Lang::from_code) {
            return lang;
        }
        let accept = headers.get_all(header::ACCEPT_LANGUAGE).iter().filter_map(|h| h.to_str().ok());
        let mut ranges: Vec<(f32, Lang)> = accept
            .flat_map(|h| h.split(','))
            .filter_map(|range| {
                let mut parts = range.split(';');
                let tag = parts.next()?.trim();
                let primary = tag.split('-').next()?.to_ascii_lowercase();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((q, Lang::from_code(&primary)?))
            })
            .filter(|(q, _)| *q > 0.0)
            .collect();
        // A stable sort keeps the header's order between equal weights.
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranges.first().map_or(Lang::En, |(_, lang)| *lang)
    }

    /// `text` in this language: the English text itself, or its Dutch from the table.
    pub fn t(self, text: &'static str) -> &'static str {
        match self {
            Lang::En => text,
            Lang::Nl => DUTCH.get(text).copied().unwrap_or(text),
        }
    }

    /// A text made at run time (a message the admin center wrote) in this language, when the
    /// table has it; anything else (a service's detail) as it is.
    pub fn text(self, text: &str) -> &str {
        match self {
            Lang::En => text,
            Lang::Nl => DUTCH.get(text).copied().unwrap_or(text),
        }
    }

    /// A count: `one` for 1, else `many` with the number for its `{}`.
    pub fn count(self, n: u64, one: &'static str, many: &'static str) -> String {
        if n == 1 {
            self.t(one).to_owned()
        } else {
            self.f(many, &[&n.to_string()])
        }
    }

    /// `text` in this language with each `{}` replaced by the next of `args`.
    pub fn f(self, text: &'static str, args: &[&str]) -> String {
        let mut out = String::new();
        let mut args = args.iter();
        let mut pieces = self.t(text).split("{}");
        if let Some(first) = pieces.next() {
            out.push_str(first);
        }
        for piece in pieces {
            out.push_str(args.next().copied().unwrap_or(""));
            out.push_str(piece);
        }
        out
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::of(&parts.headers))
    }
}

static DUTCH: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| NL.iter().copied().collect());

/// (English, Dutch), a line per text of the pages.
const NL: &[(&str, &str)] = &[
    // The shell: header, navigation, sign-in, error pages.
    ("scimd admin center", "scimd-beheercentrum"),
    ("Tenant: ", "Tenant: "),
    ("Sign out", "Afmelden"),
    ("Admin center", "Beheercentrum"),
    ("Language", "Taal"),
    ("Active users", "Actieve gebruikers"),
    ("Add user", "Gebruiker toevoegen"),
    ("Deleted users", "Verwijderde gebruikers"),
    ("Groups", "Groepen"),
    ("Licenses", "Licenties"),
    ("Tokens", "Tokens"),
    ("Import", "Importeren"),
    ("Audit log", "Auditlogboek"),
    ("Sign in", "Aanmelden"),
    ("Admin token", "Beheertoken"),
    ("Sign in with a token that has the admin scope, such as one made by ", "Meld u aan met een token met het bereik admin, zoals een token gemaakt met "),
    ("Enter an admin token.", "Voer een beheertoken in."),
    ("Sign-in failed", "Aanmelden mislukt"),
    ("Not allowed", "Niet toegestaan"),
    ("Not found", "Niet gevonden"),
    ("Conflict", "Conflict"),
    ("Too many requests", "Te veel aanvragen"),
    ("Something went wrong", "Er is iets misgegaan"),
    ("Cannot do that", "Dat kan niet"),
    ("Back to the admin center", "Terug naar het beheercentrum"),
    ("this form did not carry the page's security token, so nothing was changed: open the page again from the admin center and send it from there",
     "dit formulier bevatte het beveiligingstoken van de pagina niet, dus er is niets gewijzigd: open de pagina opnieuw vanuit het beheercentrum en verstuur het formulier daar"),
    ("the form could not be read; send it again", "het formulier kon niet worden gelezen; verstuur het opnieuw"),
    // Import.
    ("Import users", "Gebruikers importeren"),
    ("Add or update many users at once from a CSV file in the Office 365 bulk-add template: a ", "Voeg veel gebruikers tegelijk toe of werk ze bij met een CSV-bestand in de bulksjabloon van Office 365: een kolom "),
    (" column, and any of the template's other columns. A row whose user name exists updates that user; every other row creates one. Each row is checked by the same rules as a user added by hand, and refused on its own.",
     ", en naar keuze de andere kolommen van de sjabloon. Een rij waarvan de gebruikersnaam bestaat, werkt die gebruiker bij; elke andere rij maakt er een. Elke rij wordt getoetst aan dezelfde regels als een gebruiker die met de hand is toegevoegd, en afzonderlijk geweigerd."),
    ("CSV file", "CSV-bestand"),
    ("At most {} MiB.", "Hoogstens {} MiB."),
    ("Dry run", "Proefdraaien"),
    ("Check every row and show the report, but create and change nothing.", "Elke rij controleren en het rapport tonen, maar niets maken of wijzigen."),
    ("Checked {}: a dry run, so nothing was created or changed. The counts say what an import would do.", "{} gecontroleerd: een proefdraai, dus er is niets gemaakt of gewijzigd. De aantallen zeggen wat een import zou doen."),
    ("Dry run results", "Resultaten van de proefdraai"),
    ("Give new users a temporary password", "Nieuwe gebruikers een tijdelijk wachtwoord geven"),
    ("The passwords are in the report, shown once.", "De wachtwoorden staan in het rapport en worden één keer getoond."),
    ("Email results to", "Resultaten e-mailen naar"),
    ("Up to five addresses, separated by commas; leave it empty to send no mail.", "Hoogstens vijf adressen, gescheiden door komma's; laat leeg om geen e-mail te versturen."),
    ("Choose a CSV file to import.", "Kies een CSV-bestand om te importeren."),
    ("the file is larger than {} MiB, the most an import takes: split it into smaller files", "het bestand is groter dan {} MiB, het maximum voor een import: splits het in kleinere bestanden"),
    ("An import is still running; wait for it to finish.", "Er loopt nog een import; wacht tot die klaar is."),
    ("Importing…", "Bezig met importeren…"),
    ("Importing {}… {} rows done so far.", "Bezig met importeren van {}… {} rijen verwerkt."),
    ("Progress", "Voortgang"),
    ("{} of {} bytes", "{} van {} bytes"),
    ("This page updates itself every second; the import goes on if you leave it.", "Deze pagina ververst zich elke seconde; de import gaat door als u de pagina verlaat."),
    ("Import results", "Importresultaten"),
    ("Imported {}.", "{} geïmporteerd."),
    ("Created", "Gemaakt"),
    ("Updated", "Bijgewerkt"),
    ("Unchanged", "Ongewijzigd"),
    ("Refused", "Geweigerd"),
    ("Download the report (CSV)", "Het rapport downloaden (CSV)"),
    ("A line for each row: what was done, the user's id, why a row was refused. It is kept until you sign out, or for 30 minutes unused.",
     "Een regel per rij: wat er is gedaan, de id van de gebruiker, waarom een rij is geweigerd. Het blijft bewaard tot u zich afmeldt, of 30 minuten zonder gebruik."),
    ("A line for each row: what was done, the user's id, why a row was refused, and each new user's temporary password. It is kept until you sign out, or for 30 minutes unused.",
     "Een regel per rij: wat er is gedaan, de id van de gebruiker, waarom een rij is geweigerd, en het tijdelijke wachtwoord van elke nieuwe gebruiker. Het blijft bewaard tot u zich afmeldt, of 30 minuten zonder gebruik."),
    ("The report is too large to keep here; import the file with scimd import or POST /scim/v2/Admin/Import to get it.",
     "Het rapport is te groot om hier te bewaren; importeer het bestand met scimd import of POST /scim/v2/Admin/Import om het te krijgen."),
    ("Refused rows", "Geweigerde rijen"),
    ("Row", "Rij"),
    ("User name", "Gebruikersnaam"),
    ("Why", "Reden"),
    ("The first {} refused rows; the report has them all.", "De eerste {} geweigerde rijen; het rapport bevat ze allemaal."),
    ("Import another file", "Nog een bestand importeren"),
    ("Finish", "Voltooien"),
    // The other pages.
    ("Time", "Tijd"),
    ("Actor", "Actor"),
    ("Operation", "Bewerking"),
    ("Resource", "Resource"),
    ("Changes", "Wijzigingen"),
    ("Anyone", "Iedereen"),
    ("Any", "Alle"),
    ("From (UTC)", "Van (UTC)"),
    ("To (UTC)", "Tot (UTC)"),
    ("Resource id", "Resource-id"),
    ("Filter", "Filteren"),
    ("Clear filters", "Filters wissen"),
    ("Newer events", "Nieuwere gebeurtenissen"),
    ("Events {}–{} of {}", "Gebeurtenissen {}–{} van {}"),
    ("Older events", "Oudere gebeurtenissen"),
    ("Editing 1 user:", "1 gebruiker bewerken:"),
    ("Editing {} users:", "{} gebruikers bewerken:"),
    ("Keep current", "Huidige behouden"),
    ("Details and settings", "Gegevens en instellingen"),
    ("Usage location", "Gebruikslocatie"),
    ("Set for every selected user, or keep each one's own. A license needs one.", "Ingesteld voor elke geselecteerde gebruiker, of behoud die van elke gebruiker. Een licentie vereist er een."),
    ("Next", "Volgende"),
    ("Cancel", "Annuleren"),
    ("Choose the licenses to replace the current ones with, or to add to them.", "Kies de licenties die de huidige vervangen, of die eraan worden toegevoegd."),
    ("Keep current licenses", "Huidige licenties behouden"),
    ("Replace current licenses", "Huidige licenties vervangen"),
    ("Add to current licenses", "Toevoegen aan huidige licenties"),
    ("Result", "Resultaat"),
    ("Changed", "Gewijzigd"),
    ("Refused: ", "Geweigerd: "),
    ("Select at least one user to edit.", "Selecteer ten minste één gebruiker om te bewerken."),
    ("Bulk edit", "Bulksgewijs bewerken"),
    ("Bulk edit results", "Resultaten van bulksgewijs bewerken"),
    ("No", "Nee"),
    ("Yes: {}", "Ja: {}"),
    ("Not set", "Niet ingesteld"),
    ("A name on the initial domain {} must be created before the same name on another domain, not after it.", "Een naam op het oorspronkelijke domein {} moet worden gemaakt vóór dezelfde naam op een ander domein, niet erna."),
    ("First name", "Voornaam"),
    ("Last name", "Achternaam"),
    ("Display name", "Weergavenaam"),
    ("Domain", "Domein"),
    ("Admin role", "Beheerdersrol"),
    ("Admin roles", "Beheerdersrollen"),
    ("Alternate email address", "Alternatief e-mailadres"),
    ("Required with an admin role: where the administrator can be reached if locked out. Up to five, separated by commas.", "Vereist bij een beheerdersrol: waar de beheerder bereikbaar is als die buitengesloten is. Hoogstens vijf, gescheiden door komma's."),
    ("Where the user works; it must be set before a license is assigned.", "Waar de gebruiker werkt; deze moet zijn ingesteld voordat een licentie wordt toegewezen."),
    ("This tenant has no licenses yet.", "Deze tenant heeft nog geen licenties."),
    ("No licenses are available. Remove licenses from users who no longer need them, or delete user accounts that are no longer needed, to free licenses; or go on without a license.", "Er zijn geen licenties beschikbaar. Verwijder licenties bij gebruikers die ze niet meer nodig hebben, of verwijder gebruikersaccounts die niet meer nodig zijn, om licenties vrij te maken; of ga verder zonder licentie."),
    ("See the licenses", "De licenties bekijken"),
    ("{} of {} available", "{} van {} beschikbaar"),
    ("Search groups", "Groepen zoeken"),
    ("Search", "Zoeken"),
    ("Last changed", "Laatst gewijzigd"),
    ("Previous page", "Vorige pagina"),
    ("Groups {}–{} of {}", "Groepen {}–{} van {}"),
    ("Next page", "Volgende pagina"),
    ("Id", "Id"),
    ("External id", "Externe id"),
    ("Members", "Leden"),
    ("Name", "Naam"),
    ("Type", "Type"),
    ("Member pages", "Pagina's met leden"),
    ("First page", "Eerste pagina"),
    ("Members {}–{} of {}", "Leden {}–{} van {}"),
    ("Create a group", "Een groep maken"),
    ("Group name", "Groepsnaam"),
    ("Create group", "Groep maken"),
    ("Created the group {}.", "De groep {} is gemaakt."),
    ("Rename", "Naam wijzigen"),
    ("Renamed the group to {}.", "De naam van de groep is gewijzigd in {}."),
    ("User name to add", "Toe te voegen gebruikersnaam"),
    ("The full user name, such as ann@contoso.com.", "De volledige gebruikersnaam, zoals ann@contoso.com."),
    ("Add member", "Lid toevoegen"),
    ("Added {} to the group.", "{} is aan de groep toegevoegd."),
    ("Remove", "Verwijderen uit groep"),
    ("Remove {} from the group", "{} uit de groep verwijderen"),
    ("Removed the member from the group.", "Het lid is uit de groep verwijderd."),
    ("Deleting a group removes it from its members; the users themselves stay.", "Een groep verwijderen haalt alleen de groep weg; de gebruikers zelf blijven."),
    ("Delete group", "Groep verwijderen"),
    ("Deleted the group {}.", "De groep {} is verwijderd."),
    ("This tenant has no licenses. Add one with ", "Deze tenant heeft geen licenties. Voeg er een toe met "),
    (" or a POST to /scim/v2/Licenses.", " of een POST naar /scim/v2/Licenses."),
    ("License", "Licentie"),
    ("Part number", "Onderdeelnummer"),
    ("Seats", "Plaatsen"),
    ("Assigned", "Toegewezen"),
    ("Available", "Beschikbaar"),
    ("Scopes", "Bereiken"),
    ("Last used", "Laatst gebruikt"),
    ("Expires", "Verloopt"),
    ("State", "Status"),
    ("Action", "Actie"),
    ("Never", "Nooit"),
    ("Revoke", "Intrekken"),
    ("Create a token", "Een token maken"),
    ("Token name", "Tokennaam"),
    ("Who or what will use it, such as the name of the provisioning client.", "Wie of wat het gaat gebruiken, zoals de naam van de inrichtingsclient."),
    ("Create token", "Token maken"),
    ("Rate limit", "Aanvraaglimiet"),
    ("{} per second", "{} per seconde"),
    ("Server default", "Standaard van de server"),
    ("Lifetime", "Levensduur"),
    ("Such as 90d, 12h or 30m, at most 36500 days; leave it empty for a token that does not expire.", "Zoals 90d, 12h of 30m, hoogstens 36500 dagen; laat leeg voor een token dat niet verloopt."),
    ("Rate limit (requests per second)", "Aanvraaglimiet (aanvragen per seconde)"),
    ("Leave it empty for the server's own limit (--rate-limit), if it has one.", "Laat leeg voor de eigen limiet van de server (--rate-limit), als die er een heeft."),
    ("Created the token {} with the scopes {}.", "Het token {} is gemaakt met de bereiken {}."),
    ("Secret", "Geheim"),
    ("Copy it now: it will not be shown again.", "Kopieer het nu: het wordt niet opnieuw getoond."),
    (" scimd keeps only a hash of it, so a lost secret cannot be recovered; revoke the token and create another.", " scimd bewaart alleen een hash ervan, dus een verloren geheim kan niet worden hersteld; trek het token in en maak een ander."),
    ("Programs send it as ", "Programma's sturen het als "),
    (" to /scim/v2.", " naar /scim/v2."),
    ("Back to the tokens", "Terug naar de tokens"),
    ("Revoke the token {} (scopes {})? Every program using it is refused from then on; this cannot be undone.", "Het token {} (bereiken {}) intrekken? Elk programma dat het gebruikt, wordt vanaf dan geweigerd; dit kan niet ongedaan worden gemaakt."),
    ("This is the token you signed in with: revoking it signs you out.", "Dit is het token waarmee u bent aangemeld: intrekken meldt u af."),
    ("Revoke {}", "{} intrekken"),
    ("Revoked the token {}.", "Het token {} is ingetrokken."),
    ("Token created", "Token gemaakt"),
    ("Search users", "Gebruikers zoeken"),
    ("Select", "Selecteren"),
    ("Status", "Status"),
    ("Select {}", "{} selecteren"),
    ("Unlicensed", "Zonder licentie"),
    ("Synchronized from the on-premises directory", "Gesynchroniseerd vanuit de on-premises directory"),
    ("Synchronized", "Gesynchroniseerd"),
    ("Sign-in blocked", "Aanmelden geblokkeerd"),
    ("Edit selected users", "Geselecteerde gebruikers bewerken"),
    ("Users {}–{} of {}", "Gebruikers {}–{} van {}"),
    ("Edit {}", "{} bewerken"),
    ("This user is synchronized from the on-premises directory, which is where it must be changed: scimd refuses changes to it from anything but the directory connector. The page is read-only.", "Deze gebruiker wordt gesynchroniseerd vanuit de on-premises directory, en moet daar worden gewijzigd: scimd weigert wijzigingen van alles behalve de directoryconnector. De pagina is alleen-lezen."),
    ("Details", "Gegevens"),
    ("Job and contact information", "Functie- en contactgegevens"),
    ("Job title", "Functie"),
    ("Department", "Afdeling"),
    ("Office phone", "Telefoon op kantoor"),
    ("Mobile phone", "Mobiele telefoon"),
    ("Street address", "Adres"),
    ("City", "Plaats"),
    ("State or province", "Provincie of staat"),
    ("ZIP or postal code", "Postcode"),
    ("Country or region", "Land of regio"),
    ("Block sign-in", "Aanmelden blokkeren"),
    ("The user keeps its licenses and groups but cannot sign in, as with scimd user disable.", "De gebruiker behoudt zijn licenties en groepen maar kan zich niet aanmelden, zoals met scimd user disable."),
    ("Settings", "Instellingen"),
    ("Save", "Opslaan"),
    ("Delete", "Verwijderen"),
    ("Deleting frees the user's licenses; the user can be restored from Deleted users.", "Verwijderen maakt de licenties van de gebruiker vrij; de gebruiker kan worden teruggezet vanuit Verwijderde gebruikers."),
    ("Saved {}.", "{} opgeslagen."),
    ("Someone else changed this user after you opened the page: open it again to see the changes, then make yours.", "Iemand anders heeft deze gebruiker gewijzigd nadat u de pagina opende: open de pagina opnieuw om de wijzigingen te zien, en breng dan de uwe aan."),
    ("Deleted {}; it can be restored from Deleted users.", "{} verwijderd; terugzetten kan vanuit Verwijderde gebruikers."),
    ("Deleted", "Verwijderd"),
    ("Restore {}", "{} terugzetten"),
    ("Restore", "Terugzetten"),
    ("Restored {}.", "{} teruggezet."),
    ("Steps", "Stappen"),
    ("Create", "Maken"),
    ("Back", "Terug"),
    ("The user was created.", "De gebruiker is gemaakt."),
    ("None", "Geen"),
    ("Temporary password", "Tijdelijk wachtwoord"),
    ("Shown this once: give it to the user now. scimd keeps only its hash.", "Eenmalig getoond: geef het nu aan de gebruiker. scimd bewaart alleen de hash."),
    ("Open the user", "De gebruiker openen"),
    ("Create another user", "Nog een gebruiker maken"),
    ("Results", "Resultaten"),
    ("Location", "Locatie"),
    ("Send results", "Resultaten versturen"),
    ("active", "actief"),
    ("expired", "verlopen"),
    ("revoked", "ingetrokken"),
    ("1 user", "1 gebruiker"),
    ("{} users", "{} gebruikers"),
    ("1 group", "1 groep"),
    ("{} groups", "{} groepen"),
    ("1 event", "1 gebeurtenis"),
    ("{} events", "{} gebeurtenissen"),
    (", newest first.", ", nieuwste eerst."),
    ("1 member", "1 lid"),
    ("read users, groups and licenses", "gebruikers, groepen en licenties lezen"),
    ("create, change and delete users and groups", "gebruikers en groepen maken, wijzigen en verwijderen"),
    ("the on-premises directory connector: reads and writes synchronized users", "de connector van de on-premises directory: leest en schrijft gesynchroniseerde gebruikers"),
    ("everything, including tokens, licenses and this admin center", "alles, ook tokens, licenties en dit beheercentrum"),
    ("{} members", "{} leden"),
    ("{} changed, {} refused.", "{} gewijzigd, {} geweigerd."),
    ("token ", "token "),
    ("from ", "vanaf "),
    (" matching “{}”", " die overeenkomen met “{}”"),
    ("{} deleted users. A restored user takes its licenses again, if seats are left.", "{} verwijderde gebruikers. Een teruggezette gebruiker krijgt zijn licenties weer, als er plaatsen over zijn."),
];

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn accept_language_picks_the_preferred_of_english_and_dutch() {
        assert_eq!(Lang::of(&headers(&[])), Lang::En);
        assert_eq!(Lang::of(&headers(&[("accept-language", "nl-NL,nl;q=0.9,en;q=0.8")])), Lang::Nl);
        assert_eq!(Lang::of(&headers(&[("accept-language", "en-GB,nl;q=0.5")])), Lang::En);
        assert_eq!(Lang::of(&headers(&[("accept-language", "de, en;q=0.3, nl;q=0.7")])), Lang::Nl);
        assert_eq!(Lang::of(&headers(&[("accept-language", "fr")])), Lang::En);
        assert_eq!(Lang::of(&headers(&[("accept-language", "nl;q=0")])), Lang::En);
    }

    #[test]
    fn the_switchs_cookie_wins_over_accept_language() {
        let h = headers(&[("accept-language", "nl"), ("cookie", "scimd_lang=en")]);
        assert_eq!(Lang::of(&h), Lang::En);
    }

    #[test]
    fn every_dutch_text_is_listed_once_with_the_same_placeholders() {
        let mut seen = std::collections::HashSet::new();
        for (en, nl) in NL {
            assert!(seen.insert(*en), "{en} twice");
            assert_eq!(en.matches("{}").count(), nl.matches("{}").count(), "{en}");
        }
    }

    #[test]
    fn english_is_the_key_and_a_missing_text_stays_english() {
        assert_eq!(Lang::En.t("Active users"), "Active users");
        assert_eq!(Lang::Nl.t("Active users"), "Actieve gebruikers");
        assert_eq!(Lang::Nl.t("not in the table"), "not in the table");
        assert_eq!(Lang::Nl.f("Imported {}.", &["a.csv"]), "a.csv geïmporteerd.");
    }
}
