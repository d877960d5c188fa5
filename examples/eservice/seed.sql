-- Fictional data for the example e-service: two municipalities of the test
-- directory (tests/env/hsa-data.ldif.in), Norrby (1409) and Söderås (0599),
-- and a third that is not connected. Names, dates and events are made up.
-- Dates are relative to today, so that what is shown does not age.
INSERT INTO municipality VALUES ('1409', 'Norrby kommun', 1, 'SE2120001231-1001');
INSERT INTO municipality VALUES ('0599', 'Söderås kommun', 1, 'SE2120004565-1101');
INSERT INTO municipality VALUES ('0999', 'Ödemarks kommun', 0, NULL);

INSERT INTO child (id, municipality, name, born, category, start, end) VALUES
 (1, '1409', 'Amir Testsson', date('now', '-16 years'), 'asylum', date('now', '-200 days'), NULL),
 (2, '1409', 'Sara Påhittad', date('now', '-17 years'), 'permit', date('now', '-400 days'), NULL),
 (3, '1409', 'Jonas Fiktiv', date('now', '-21 years'), 'permit', date('now', '-5 years'),
  date('now', '-30 days')),
 (4, '1409', 'Lina Tidigare', date('now', '-23 years'), 'permit', date('now', '-7 years'),
  date('now', '-2 years')),
 (5, '0599', 'Omar Söderberg', date('now', '-15 years'), 'asylum', date('now', '-90 days'), NULL),
 (6, '0599', 'Elin Åsdotter', date('now', '-20 years'), 'permit', date('now', '-3 years'),
  date('now', '-100 days'));

INSERT INTO notification (child, created, text) VALUES
 (1, date('now', '-10 days'), 'Beslut om förlängd placering'),
 (2, date('now', '-2 years'), 'Gammal notifiering som inte längre visas'),
 (5, date('now', '-3 days'), 'Nytt boende anmält');
