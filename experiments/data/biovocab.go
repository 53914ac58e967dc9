package data

// Fixed vocabularies for the synthetic biographies. They are part of the dataset's definition: changing,
// adding or reordering an entry changes every generated dataset and its bits per person, so extend them
// only together with a note in the results. Entries are unique within each list, and no first name is
// also a last name, so every (first, last) pair is a distinct full name.

var femaleFirstNames = []string{
	"Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
	"Nancy", "Lisa", "Margaret", "Sandra", "Ashley", "Emily", "Donna", "Michelle", "Carol", "Amanda",
	"Melissa", "Deborah", "Stephanie", "Rebecca", "Laura", "Sharon", "Cynthia", "Kathleen", "Amy", "Angela",
	"Anna", "Brenda", "Pamela", "Nicole", "Emma", "Helen", "Samantha", "Katherine", "Christine", "Rachel",
	"Carolyn", "Janet", "Catherine", "Maria", "Heather", "Diane", "Olivia", "Julie", "Joyce", "Victoria",
	"Ruth", "Virginia", "Lauren", "Chloe", "Christina", "Joan", "Evelyn", "Judith", "Andrea", "Hannah",
	"Megan", "Cheryl", "Jacqueline", "Martha", "Madison", "Teresa", "Gloria", "Sara", "Janice", "Ann",
	"Kathryn", "Abigail", "Sophia", "Frances", "Jean", "Alice", "Judy", "Isabella", "Julia", "Grace",
	"Amara", "Yuki", "Priya", "Ingrid", "Leila", "Sofia", "Mei", "Fatima", "Elena", "Zoe",
}

var maleFirstNames = []string{
	"James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas", "Charles",
	"Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul", "Andrew", "Joshua",
	"Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Edward", "Jason", "Jeffrey", "Ryan",
	"Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen", "Larry", "Justin", "Scott", "Brandon",
	"Benjamin", "Samuel", "Gregory", "Alexander", "Frank", "Patrick", "Raymond", "Jack", "Dennis", "Jerry",
	"Tyler", "Aaron", "Jose", "Adam", "Nathan", "Henry", "Douglas", "Zachary", "Peter", "Kyle",
	"Ethan", "Walter", "Noah", "Jeremy", "Christian", "Keith", "Roger", "Terry", "Gerald", "Harold",
	"Sean", "Austin", "Carl", "Arthur", "Lawrence", "Dylan", "Jesse", "Oliver", "Bryan", "Billy",
	"Kenji", "Arjun", "Lars", "Omar", "Mateo", "Wei", "Kwame", "Ivan", "Luca", "Hugo",
}

var lastNames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
	"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Nakamura", "Taylor", "Moore", "Jackson", "Martin",
	"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
	"Walker", "Young", "Allen", "King", "Wright", "Kowalski", "Torres", "Nguyen", "Hill", "Flores",
	"Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
	"Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
	"Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
	"Peterson", "Bailey", "Reed", "Schmidt", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
	"Watson", "Brooks", "Chavez", "Wood", "Novak", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
	"Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
	"Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes",
	"Rossi", "Fisher", "Vasquez", "Simmons", "Romero", "Dubois", "Patterson", "Larsen", "Hamilton", "Graham",
	"Reynolds", "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes", "Bryant", "Herrera", "Gibson",
	"Ellis", "Tran", "Medina", "Aguilar", "Stevens", "Murray", "Ford", "Castro", "Marshall", "Owens",
	"Harrison", "Fernandez", "McDonald", "Woods", "Okafor", "Kennedy", "Wells", "Vargas", "Singh", "Chen",
	"Freeman", "Webb", "Tucker", "Guzman", "Burns", "Crawford", "Olson", "Yamamoto", "Haddad", "Ivanov",
}

var cities = []string{
	"Paris", "London", "Tokyo", "New York", "Berlin", "Madrid", "Rome", "Moscow", "Beijing", "Shanghai",
	"Mumbai", "Delhi", "Cairo", "Lagos", "Nairobi", "Johannesburg", "Cape Town", "Sydney", "Melbourne", "Toronto",
	"Vancouver", "Montreal", "Chicago", "Los Angeles", "San Francisco", "Seattle", "Boston", "Houston", "Miami", "Atlanta",
	"Denver", "Dallas", "Philadelphia", "Phoenix", "Mexico City", "Buenos Aires", "São Paulo", "Rio de Janeiro", "Lima", "Bogotá",
	"Santiago", "Caracas", "Havana", "Lisbon", "Barcelona", "Vienna", "Prague", "Warsaw", "Budapest", "Amsterdam",
	"Brussels", "Copenhagen", "Stockholm", "Oslo", "Helsinki", "Dublin", "Edinburgh", "Manchester", "Munich", "Hamburg",
	"Zurich", "Geneva", "Milan", "Naples", "Athens", "Istanbul", "Ankara", "Tehran", "Baghdad", "Riyadh",
	"Dubai", "Doha", "Karachi", "Lahore", "Dhaka", "Kolkata", "Chennai", "Bangalore", "Bangkok", "Hanoi",
	"Singapore", "Kuala Lumpur", "Jakarta", "Manila", "Seoul", "Busan", "Osaka", "Kyoto", "Taipei", "Hong Kong",
	"Auckland", "Wellington", "Perth", "Brisbane", "Accra", "Dakar", "Addis Ababa", "Casablanca", "Tunis", "Algiers",
	"Kinshasa", "Luanda", "Khartoum", "Kampala", "Kyiv", "Minsk", "Bucharest", "Sofia", "Belgrade", "Zagreb",
	"Riga", "Vilnius", "Tallinn", "Reykjavik", "Marseille", "Lyon", "Frankfurt", "Cologne", "Porto", "Seville",
}

var universities = []string{
	"Harvard University", "Stanford University", "Massachusetts Institute of Technology", "University of Cambridge",
	"University of Oxford", "California Institute of Technology", "Princeton University", "Yale University",
	"Columbia University", "University of Chicago", "University of Pennsylvania", "Cornell University",
	"Johns Hopkins University", "Duke University", "Northwestern University", "Brown University",
	"Dartmouth College", "Rice University", "Vanderbilt University", "Georgetown University",
	"Carnegie Mellon University", "Emory University", "University of Notre Dame", "University of California, Berkeley",
	"University of California, Los Angeles", "University of Michigan", "University of Virginia", "University of North Carolina",
	"University of Texas at Austin", "University of Washington", "University of Wisconsin", "University of Illinois",
	"Georgia Institute of Technology", "New York University", "Boston University", "Purdue University",
	"Ohio State University", "Pennsylvania State University", "University of Southern California", "University of Florida",
	"University of Minnesota", "Indiana University", "Michigan State University", "Arizona State University",
	"University of Toronto", "McGill University", "University of British Columbia", "Imperial College London",
	"University College London", "London School of Economics", "University of Edinburgh", "King's College London",
	"University of Manchester", "University of Bristol", "University of Glasgow", "Trinity College Dublin",
	"ETH Zurich", "EPFL", "Sorbonne University", "Sciences Po",
	"Heidelberg University", "Technical University of Munich", "Humboldt University of Berlin", "LMU Munich",
	"University of Amsterdam", "Delft University of Technology", "KU Leuven", "University of Copenhagen",
	"Karolinska Institute", "Uppsala University", "University of Oslo", "University of Helsinki",
	"University of Vienna", "Charles University", "University of Warsaw", "University of Bologna",
	"Sapienza University of Rome", "University of Barcelona", "Complutense University of Madrid", "University of Lisbon",
	"University of Tokyo", "Kyoto University", "Osaka University", "Seoul National University",
	"KAIST", "Tsinghua University", "Peking University", "Fudan University",
	"National University of Singapore", "Nanyang Technological University", "University of Hong Kong", "National Taiwan University",
	"Indian Institute of Technology Bombay", "Indian Institute of Science", "University of Melbourne", "University of Sydney",
	"Australian National University", "University of Auckland", "University of Cape Town", "University of São Paulo",
}

var majors = []string{
	"Computer Science", "Mathematics", "Physics", "Chemistry", "Biology", "Economics", "History", "Philosophy",
	"Psychology", "Sociology", "Political Science", "English Literature", "Linguistics", "Anthropology", "Art History", "Music",
	"Architecture", "Civil Engineering", "Mechanical Engineering", "Electrical Engineering", "Chemical Engineering", "Aerospace Engineering", "Biomedical Engineering", "Materials Science",
	"Environmental Science", "Geology", "Astronomy", "Statistics", "Accounting", "Finance", "Marketing", "Business Administration",
	"Management", "International Relations", "Law", "Medicine", "Nursing", "Pharmacy", "Public Health", "Nutrition",
	"Education", "Journalism", "Communications", "Film Studies", "Theater", "Dance", "Graphic Design", "Fine Arts",
	"Photography", "Creative Writing", "Classics", "Religious Studies", "Geography", "Urban Planning", "Agriculture", "Forestry",
	"Marine Biology", "Neuroscience", "Genetics", "Biochemistry", "Microbiology", "Ecology", "Zoology", "Botany",
	"Oceanography", "Meteorology", "Data Science", "Information Systems", "Software Engineering", "Robotics", "Cognitive Science", "Criminology",
	"Social Work", "Veterinary Medicine", "Dentistry", "Kinesiology", "Hospitality Management", "Supply Chain Management", "Industrial Design", "Comparative Literature",
}

var employers = []string{
	"Google", "Microsoft", "Apple", "Amazon", "Meta Platforms", "IBM", "Intel", "Nvidia", "Oracle", "Cisco",
	"Adobe", "Salesforce", "Netflix", "Uber", "Airbnb", "Spotify", "Samsung", "Sony", "Toyota", "Honda",
	"Nissan", "Volkswagen", "BMW", "Mercedes-Benz", "Siemens", "Bosch", "SAP", "Philips", "Nokia", "Ericsson",
	"Unilever", "Nestlé", "Danone", "L'Oréal", "LVMH", "Airbus", "Boeing", "Lockheed Martin", "General Electric", "General Motors",
	"Ford Motor Company", "Tesla", "ExxonMobil", "Chevron", "Shell", "BP", "TotalEnergies", "Pfizer", "Johnson & Johnson", "Merck",
	"Novartis", "Roche", "AstraZeneca", "GSK", "Sanofi", "Bayer", "BASF", "Procter & Gamble", "Coca-Cola", "PepsiCo",
	"McDonald's", "Starbucks", "Walmart", "Target", "Costco", "IKEA", "H&M", "Zara", "Nike", "Adidas",
	"Disney", "Warner Bros", "Goldman Sachs", "JPMorgan Chase", "Morgan Stanley", "Citigroup", "HSBC", "Barclays", "Deutsche Bank", "UBS",
	"BlackRock", "Visa", "Mastercard", "American Express", "PayPal", "Deloitte", "McKinsey & Company", "Accenture", "KPMG", "PwC",
	"FedEx", "UPS", "Maersk", "Delta Air Lines", "Lufthansa", "Emirates", "Alibaba", "Tencent", "Baidu", "Infosys",
}
